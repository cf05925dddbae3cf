using Persona.Abstractions;

namespace Persona.Core.Demo;

/// <summary>An English/Chinese word pair.</summary>
internal readonly record struct Word(string En, string Zh);

/// <param name="En">Category name (English), as it appears in <c>Item.CategoryPath</c>.</param>
/// <param name="Zh">Category name (Chinese), as it appears in the <c>category_path_zh</c> attribute.</param>
/// <param name="Noun">Singular product noun used in titles and queries.</param>
/// <param name="MedianPrice">Median price in CNY; prices are log-normal around it.</param>
/// <param name="Sigma">Log-normal spread of prices.</param>
/// <param name="Popularity">Relative chance that a shopper prefers this leaf.</param>
/// <param name="FemaleSkew">Preference multiplier for women (its inverse applies to men).</param>
/// <param name="Sizes">Size or spec suffixes for titles; empty for none.</param>
internal sealed record LeafSpec(
    string En, string Zh, Word Noun, double MedianPrice, double Sigma, double Popularity, double FemaleSkew, string[] Sizes);

internal sealed record GroupSpec(string En, string Zh, LeafSpec[] Leaves);

/// <param name="En">Brand name (English), the item's <c>Brand</c>.</param>
/// <param name="Zh">Brand name (Chinese), the <c>brand_zh</c> attribute.</param>
/// <param name="Premium">Price multiplier of the brand (1 = market median).</param>
/// <param name="Leaves">English leaf names the brand sells in; empty = every leaf of its top category.</param>
internal sealed record BrandSpec(string En, string Zh, double Premium, string[] Leaves);

/// <summary>A top-level category with either second-level groups (3-level paths) or direct leaves (2-level paths).</summary>
internal sealed record TopSpec(
    string En, string Zh, GroupSpec[] Groups, LeafSpec[] Leaves, BrandSpec[] Brands, Word[] Adjectives, Word[] Variants);

/// <summary>A resolved leaf category of the demo catalog.</summary>
internal sealed record DemoLeaf(int Index, int TopIndex, LeafSpec Spec, string[] PathEn, string[] PathZh, string Key, int[] BrandIndices);

/// <summary>The bilingual category tree, brands and title words of the demo shop.</summary>
internal static class DemoCatalog
{
    private static LeafSpec L(string en, string zh, string nounEn, string nounZh, double median, double sigma,
        double popularity = 1, double femaleSkew = 1, params string[] sizes) =>
        new(en, zh, new Word(nounEn, nounZh), median, sigma, popularity, femaleSkew, sizes);

    private static BrandSpec B(string en, string zh, double premium, params string[] leaves) => new(en, zh, premium, leaves);

    private static Word W(string en, string zh) => new(en, zh);

    public static readonly TopSpec[] Tops =
    [
        new("Beauty", "美妆",
            [
                new("Makeup", "彩妆",
                [
                    L("Lipstick", "口红", "Lipstick", "口红", 180, 0.45, 1.6, 4, "3.4g", "3.5g", "3g"),
                    L("Foundation", "粉底液", "Foundation", "粉底液", 260, 0.45, 1.0, 4, "30ml", "35ml"),
                    L("Eyeshadow", "眼影", "Eyeshadow Palette", "眼影盘", 200, 0.5, 0.9, 4, "9 colors", "12 colors"),
                    L("Mascara", "睫毛膏", "Mascara", "睫毛膏", 150, 0.4, 0.7, 4, "8ml", "10ml"),
                ]),
                new("Skincare", "护肤",
                [
                    L("Face Cream", "面霜", "Face Cream", "面霜", 320, 0.6, 1.3, 2.5, "50ml", "30ml"),
                    L("Serum", "精华", "Serum", "精华液", 420, 0.6, 1.2, 2.5, "30ml", "50ml"),
                    L("Face Masks", "面膜", "Sheet Mask", "面膜", 90, 0.5, 1.2, 2.5, "10 pcs", "5 pcs"),
                    L("Cleanser", "洁面", "Facial Cleanser", "洗面奶", 90, 0.45, 1.0, 1.5, "100g", "150ml"),
                ]),
                new("Fragrance", "香氛",
                [
                    L("Perfume", "香水", "Eau de Parfum", "香水", 550, 0.5, 0.8, 2, "50ml", "100ml", "30ml"),
                ]),
            ],
            [],
            [
                B("Lancome", "兰蔻", 1.6), B("Estee Lauder", "雅诗兰黛", 1.6), B("Dior", "迪奥", 1.9),
                B("Shiseido", "资生堂", 1.3), B("L'Oreal", "欧莱雅", 0.9), B("Maybelline", "美宝莲", 0.6, "Lipstick", "Foundation", "Eyeshadow", "Mascara"),
                B("Perfect Diary", "完美日记", 0.5, "Lipstick", "Foundation", "Eyeshadow", "Mascara"), B("Florasis", "花西子", 0.8, "Lipstick", "Foundation", "Eyeshadow"),
                B("Proya", "珀莱雅", 0.6, "Face Cream", "Serum", "Face Masks", "Cleanser"), B("Chando", "自然堂", 0.55, "Face Cream", "Serum", "Face Masks", "Cleanser"),
            ],
            [W("Matte", "哑光"), W("Moisturizing", "滋润"), W("Long-Lasting", "持久"), W("Hydrating", "补水"), W("Silky", "丝绒"), W("Brightening", "提亮")],
            [W("Rose", "玫瑰"), W("Red", "正红"), W("Coral", "珊瑚"), W("Nude", "裸色"), W("Classic", "经典"), W("Limited Edition", "限定款")]),

        new("Electronics", "数码",
            [
                new("Phones", "手机",
                [
                    L("Smartphones", "智能手机", "Smartphone", "智能手机", 2800, 0.55, 1.5, 0.6, "128GB", "256GB", "512GB"),
                    L("Phone Cases", "手机壳", "Phone Case", "手机壳", 45, 0.5, 1.0, 1.0, "for 6.1 inch", "for 6.7 inch"),
                ]),
                new("Computers", "电脑",
                [
                    L("Laptops", "笔记本电脑", "Laptop", "笔记本电脑", 5500, 0.4, 0.9, 0.5, "16GB 512GB", "32GB 1TB", "14 inch"),
                    L("Tablets", "平板电脑", "Tablet", "平板电脑", 2600, 0.45, 0.8, 0.8, "11 inch 128GB", "10.4 inch 64GB"),
                ]),
                new("Audio", "音频",
                [
                    L("Headphones", "耳机", "Wireless Earbuds", "无线耳机", 450, 0.75, 1.2, 0.8),
                    L("Speakers", "音箱", "Bluetooth Speaker", "蓝牙音箱", 320, 0.7, 0.7, 0.6),
                ]),
                new("Wearables", "智能穿戴",
                [
                    L("Smartwatches", "智能手表", "Smartwatch", "智能手表", 1300, 0.6, 0.8, 0.7, "42mm", "46mm"),
                ]),
            ],
            [],
            [
                B("Apple", "苹果", 1.6, "Smartphones", "Laptops", "Tablets", "Headphones", "Smartwatches"), B("Huawei", "华为", 1.15),
                B("Xiaomi", "小米", 0.75), B("Honor", "荣耀", 0.8, "Smartphones", "Laptops", "Tablets", "Headphones", "Smartwatches"),
                B("Lenovo", "联想", 0.95, "Laptops", "Tablets", "Headphones"), B("Sony", "索尼", 1.35, "Headphones", "Speakers", "Smartphones"),
                B("Edifier", "漫步者", 0.55, "Headphones", "Speakers"), B("OPPO", "OPPO", 0.95, "Smartphones", "Headphones", "Smartwatches", "Phone Cases"),
                B("Baseus", "倍思", 0.5, "Phone Cases", "Headphones", "Speakers"),
            ],
            [W("Pro", "专业版"), W("Lite", "轻薄版"), W("Max", "旗舰版"), W("Youth", "青春版"), W("Plus", "增强版")],
            [W("Black", "黑色"), W("White", "白色"), W("Blue", "蓝色"), W("Silver", "银色"), W("Green", "绿色")]),

        new("Apparel", "服饰",
            [
                new("Womenswear", "女装",
                [
                    L("Dresses", "连衣裙", "Dress", "连衣裙", 260, 0.5, 1.4, 6, "S", "M", "L"),
                    L("T-Shirts", "T恤", "T-Shirt", "T恤", 85, 0.5, 1.0, 6, "S", "M", "L"),
                    L("Skirts", "半身裙", "Skirt", "半身裙", 160, 0.5, 0.8, 6, "S", "M", "L"),
                ]),
                new("Menswear", "男装",
                [
                    L("Shirts", "衬衫", "Shirt", "衬衫", 180, 0.5, 1.0, 0.16, "M", "L", "XL"),
                    L("Jackets", "夹克", "Jacket", "夹克", 420, 0.55, 1.0, 0.16, "M", "L", "XL"),
                    L("T-Shirts", "T恤", "T-Shirt", "T恤", 80, 0.5, 1.0, 0.16, "M", "L", "XL"),
                ]),
                new("Shoes", "鞋靴",
                [
                    L("Sneakers", "运动鞋", "Sneakers", "运动鞋", 460, 0.5, 1.3, 1.0, "39", "41", "43"),
                    L("Heels", "高跟鞋", "Heels", "高跟鞋", 350, 0.5, 0.7, 8, "36", "37", "38"),
                ]),
            ],
            [],
            [
                B("Uniqlo", "优衣库", 0.7), B("Nike", "耐克", 1.3), B("Adidas", "阿迪达斯", 1.25), B("Li-Ning", "李宁", 0.9),
                B("Anta", "安踏", 0.75), B("Peacebird", "太平鸟", 1.0), B("Bosideng", "波司登", 1.4, "Jackets"),
                B("Zara", "飒拉", 1.05, "Dresses", "T-Shirts", "Skirts", "Shirts", "Jackets", "Heels"),
                B("Belle", "百丽", 1.1, "Heels", "Sneakers"),
            ],
            [W("Slim Fit", "修身"), W("Casual", "休闲"), W("Cotton", "纯棉"), W("Vintage", "复古"), W("Loose", "宽松")],
            [W("Black", "黑色"), W("White", "白色"), W("Navy", "藏青"), W("Beige", "米色"), W("Red", "红色")]),

        new("Food", "食品",
            [],
            [
                L("Snacks", "零食", "Snack Pack", "零食大礼包", 45, 0.5, 1.4, 1.2, "500g", "1kg"),
                L("Tea", "茶叶", "Green Tea", "绿茶", 160, 0.8, 0.9, 0.8, "250g", "100g"),
                L("Coffee", "咖啡", "Coffee Beans", "咖啡豆", 85, 0.6, 1.0, 1.0, "250g", "500g"),
                L("Nuts", "坚果", "Mixed Nuts", "每日坚果", 65, 0.5, 1.0, 1.1, "750g", "30 packs"),
                L("Wine & Spirits", "酒水", "Red Wine", "红酒", 220, 0.9, 0.7, 0.5, "750ml", "6 bottles"),
            ],
            [
                B("Three Squirrels", "三只松鼠", 0.9, "Snacks", "Nuts"), B("Bestore", "良品铺子", 1.0, "Snacks", "Nuts"),
                B("Be&Cheery", "百草味", 0.85, "Snacks", "Nuts"), B("Nestle", "雀巢", 0.8, "Coffee"),
                B("Starbucks", "星巴克", 1.5, "Coffee"), B("Lipton", "立顿", 0.6, "Tea"), B("Bama Tea", "八马茶业", 1.5, "Tea"),
                B("Changyu", "张裕", 0.8, "Wine & Spirits"), B("Penfolds", "奔富", 1.7, "Wine & Spirits"),
            ],
            [W("Original", "原味"), W("Spicy", "香辣"), W("Organic", "有机"), W("Gift Box", "礼盒装"), W("Family Size", "家庭装")],
            [W("Classic", "经典"), W("Premium", "特级"), W("Daily", "日常"), W("Selected", "精选")]),

        new("Home", "家居",
            [
                new("Textiles", "家纺",
                [
                    L("Bedding", "床上用品", "Bedding Set", "四件套", 320, 0.55, 1.0, 1.6, "1.5m", "1.8m"),
                    L("Towels", "毛巾", "Towel", "毛巾", 50, 0.5, 0.7, 1.3, "3 pcs", "2 pcs"),
                ]),
                new("Kitchen", "厨具",
                [
                    L("Cookware", "锅具", "Frying Pan", "炒锅", 260, 0.55, 0.9, 1.2, "28cm", "32cm"),
                    L("Tableware", "餐具", "Dinnerware Set", "餐具套装", 90, 0.6, 0.7, 1.3, "4 persons", "6 persons"),
                ]),
                new("Appliances", "小家电",
                [
                    L("Rice Cookers", "电饭煲", "Rice Cooker", "电饭煲", 420, 0.5, 0.8, 1.1, "3L", "4L", "5L"),
                    L("Vacuum Cleaners", "吸尘器", "Vacuum Cleaner", "吸尘器", 1300, 0.55, 0.8, 1.0),
                ]),
            ],
            [],
            [
                B("Muji", "无印良品", 1.2, "Bedding", "Towels", "Tableware"), B("Fuanna", "富安娜", 1.2, "Bedding", "Towels"),
                B("Supor", "苏泊尔", 0.85, "Cookware", "Rice Cookers", "Tableware"), B("Midea", "美的", 0.9, "Rice Cookers", "Vacuum Cleaners", "Cookware"),
                B("Dyson", "戴森", 2.4, "Vacuum Cleaners"), B("Zwilling", "双立人", 1.7, "Cookware", "Tableware"),
                B("Joyoung", "九阳", 0.8, "Rice Cookers", "Cookware"), B("Grace", "洁丽雅", 0.6, "Towels", "Bedding"),
            ],
            [W("Nordic", "北欧风"), W("Minimalist", "简约"), W("Non-Stick", "不粘"), W("Smart", "智能"), W("Soft", "柔软")],
            [W("Grey", "灰色"), W("White", "白色"), W("Blue", "蓝色"), W("Pink", "粉色")]),

        new("Sports", "运动",
            [
                new("Fitness", "健身",
                [
                    L("Yoga Mats", "瑜伽垫", "Yoga Mat", "瑜伽垫", 85, 0.5, 1.0, 2.5, "6mm", "10mm"),
                    L("Dumbbells", "哑铃", "Adjustable Dumbbell", "可调节哑铃", 160, 0.6, 0.8, 0.4, "10kg", "20kg"),
                ]),
                new("Outdoor", "户外",
                [
                    L("Tents", "帐篷", "Camping Tent", "露营帐篷", 520, 0.6, 0.7, 0.7, "2 persons", "4 persons"),
                    L("Backpacks", "登山包", "Hiking Backpack", "登山包", 300, 0.55, 0.8, 0.8, "30L", "45L"),
                ]),
                new("Cycling", "骑行",
                [
                    L("Bicycles", "自行车", "Road Bike", "公路自行车", 1900, 0.6, 0.5, 0.5, "26 inch", "700C"),
                ]),
            ],
            [],
            [
                B("Decathlon", "迪卡侬", 0.7), B("Keep", "Keep", 0.9, "Yoga Mats", "Dumbbells"), B("Lululemon", "露露乐蒙", 1.7, "Yoga Mats", "Backpacks"),
                B("The North Face", "北面", 1.6, "Tents", "Backpacks"), B("Naturehike", "挪客", 0.85, "Tents", "Backpacks"),
                B("Giant", "捷安特", 1.2, "Bicycles"), B("Merida", "美利达", 1.0, "Bicycles"),
            ],
            [W("Lightweight", "轻量"), W("Professional", "专业"), W("Portable", "便携"), W("Waterproof", "防水")],
            [W("Black", "黑色"), W("Purple", "紫色"), W("Green", "绿色"), W("Orange", "橙色")]),

        new("Baby", "母婴",
            [],
            [
                L("Diapers", "纸尿裤", "Diapers", "纸尿裤", 130, 0.4, 1.0, 1.5, "L 54 pcs", "M 64 pcs", "XL 44 pcs"),
                L("Infant Formula", "奶粉", "Infant Formula", "婴儿奶粉", 290, 0.35, 0.9, 1.4, "800g", "900g", "400g"),
                L("Toys", "玩具", "Building Blocks", "积木玩具", 130, 0.7, 1.0, 1.2),
                L("Kids Clothing", "童装", "Kids Hoodie", "儿童卫衣", 95, 0.5, 0.9, 1.5, "110cm", "120cm", "130cm"),
            ],
            [
                B("Pampers", "帮宝适", 1.0, "Diapers"), B("Huggies", "好奇", 1.0, "Diapers"), B("Merries", "花王", 1.25, "Diapers"),
                B("a2", "a2", 1.3, "Infant Formula"), B("Feihe", "飞鹤", 1.0, "Infant Formula"), B("Aptamil", "爱他美", 1.25, "Infant Formula"),
                B("LEGO", "乐高", 1.8, "Toys"), B("Balabala", "巴拉巴拉", 0.9, "Kids Clothing", "Toys"),
                B("Annil", "安奈儿", 1.15, "Kids Clothing"), B("Goodbaby", "好孩子", 1.0, "Toys", "Kids Clothing"),
            ],
            [W("Ultra-Thin", "超薄"), W("Gentle", "温和"), W("Educational", "益智"), W("Soft", "柔软")],
            [W("Classic", "经典"), W("New Formula", "新配方"), W("Cartoon", "卡通")]),

        new("Books", "图书",
            [],
            [
                L("Fiction", "小说", "Novel", "长篇小说", 38, 0.35, 0.9, 1.2),
                L("Children's Books", "童书", "Picture Book", "绘本", 45, 0.45, 0.8, 1.4, "10 books", "4 books"),
                L("Textbooks", "教材教辅", "Exam Workbook", "习题集", 48, 0.35, 0.7, 1.0),
            ],
            [
                B("People's Literature", "人民文学出版社", 1.0, "Fiction"), B("CITIC Press", "中信出版社", 1.15, "Fiction", "Children's Books"),
                B("New Star Press", "新星出版社", 1.0, "Fiction"), B("Jieli Publishing", "接力出版社", 0.95, "Children's Books"),
                B("People's Education Press", "人民教育出版社", 0.9, "Textbooks"), B("Kingsoft Learning", "金星教育", 0.8, "Textbooks"),
            ],
            [W("Bestselling", "畅销"), W("Classic", "经典"), W("Illustrated", "插图版"), W("Annotated", "注释版")],
            [W("Paperback", "平装"), W("Hardcover", "精装"), W("Collector's Edition", "典藏版")]),
    ];

    /// <summary>All leaves in tree order, each with its paths, key and the brands that sell in it.</summary>
    public static readonly DemoLeaf[] Leaves = BuildLeaves();

    private static DemoLeaf[] BuildLeaves()
    {
        var leaves = new List<DemoLeaf>();
        for (var t = 0; t < Tops.Length; t++)
        {
            var top = Tops[t];
            foreach (var group in top.Groups)
                foreach (var leaf in group.Leaves)
                    Add(t, leaf, [top.En, group.En, leaf.En], [top.Zh, group.Zh, leaf.Zh]);
            foreach (var leaf in top.Leaves)
                Add(t, leaf, [top.En, leaf.En], [top.Zh, leaf.Zh]);
        }
        return [.. leaves];

        void Add(int topIndex, LeafSpec spec, string[] pathEn, string[] pathZh)
        {
            var brands = Tops[topIndex].Brands;
            var indices = Enumerable.Range(0, brands.Length)
                .Where(b => brands[b].Leaves.Length == 0 || brands[b].Leaves.Contains(spec.En))
                .ToArray();
            leaves.Add(new DemoLeaf(leaves.Count, topIndex, spec, pathEn, pathZh,
                CategoryPaths.Key(pathEn, pathEn.Length), indices));
        }
    }
}
