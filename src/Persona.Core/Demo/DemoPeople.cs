namespace Persona.Core.Demo;

/// <summary>Demographic tables of the demo shoppers.</summary>
internal static class DemoPeople
{
    public static readonly string[] AgeBands = ["18-24", "25-34", "35-44", "45-54", "55+"];
    public static readonly double[] AgeBandWeights = [0.22, 0.38, 0.22, 0.12, 0.06];

    public sealed record Province(string Pinyin, string Zh, double Weight, (string Pinyin, string Zh)[] Cities);

    public static readonly Province[] Provinces =
    [
        new("Guangdong", "广东", 0.14, [("Guangzhou", "广州"), ("Shenzhen", "深圳"), ("Dongguan", "东莞"), ("Foshan", "佛山")]),
        new("Zhejiang", "浙江", 0.10, [("Hangzhou", "杭州"), ("Ningbo", "宁波"), ("Wenzhou", "温州")]),
        new("Jiangsu", "江苏", 0.10, [("Nanjing", "南京"), ("Suzhou", "苏州"), ("Wuxi", "无锡")]),
        new("Shanghai", "上海", 0.07, [("Shanghai", "上海")]),
        new("Beijing", "北京", 0.07, [("Beijing", "北京")]),
        new("Shandong", "山东", 0.08, [("Jinan", "济南"), ("Qingdao", "青岛")]),
        new("Sichuan", "四川", 0.07, [("Chengdu", "成都"), ("Mianyang", "绵阳")]),
        new("Hubei", "湖北", 0.05, [("Wuhan", "武汉"), ("Yichang", "宜昌")]),
        new("Henan", "河南", 0.06, [("Zhengzhou", "郑州"), ("Luoyang", "洛阳")]),
        new("Fujian", "福建", 0.05, [("Xiamen", "厦门"), ("Fuzhou", "福州")]),
        new("Hunan", "湖南", 0.04, [("Changsha", "长沙")]),
        new("Shaanxi", "陕西", 0.03, [("Xi'an", "西安")]),
        new("Chongqing", "重庆", 0.04, [("Chongqing", "重庆")]),
        new("Tianjin", "天津", 0.03, [("Tianjin", "天津")]),
        new("Liaoning", "辽宁", 0.03, [("Shenyang", "沈阳"), ("Dalian", "大连")]),
        new("Yunnan", "云南", 0.02, [("Kunming", "昆明")]),
    ];

    public static readonly double[] ProvinceWeights = [.. Provinces.Select(p => p.Weight)];

    public static readonly string[] Devices = ["mobile", "desktop", "tablet"];
    public static readonly double[] DeviceWeights = [0.72, 0.18, 0.10];
    public static readonly string[] Channels = ["app", "web", "mini_program"];

    /// <summary>Channel weights given the device (rows follow <see cref="Devices"/>, columns <see cref="Channels"/>).</summary>
    public static readonly double[][] ChannelWeightsByDevice = [[0.6, 0.1, 0.3], [0, 1, 0], [0.7, 0.3, 0]];

    /// <summary>Local (UTC+8) hours around which shoppers' sessions cluster: commute, lunch, afternoon, evening, night.</summary>
    public static readonly int[] PeakHours = [8, 12, 15, 20, 21, 22, 23];
    public static readonly double[] PeakHourWeights = [0.12, 0.18, 0.10, 0.20, 0.20, 0.12, 0.08];

    public const int UtcOffsetHours = 8;
}
