// Names of the figures reports hold, in both languages; metrics also say which direction is better.
import { pick } from './i18n.js';

/**
 * Every metric the pages show, named in both languages, with its direction and what it measures. Keys are the
 * report fields (snake_case) or the names used for the refresh tasks' scores.
 */
export const Metrics = {
  auc: { en: 'AUC', zh: 'AUC', better: 'higher', about: ['Chance that a random positive is ranked above a random negative: 0.5 is guessing, 1 is perfect.', '随机正例得分高于随机负例的概率：0.5 相当于随机猜测，1 为完美。'] },
  log_loss: { en: 'Log loss', zh: '对数损失', better: 'lower', about: ['How far the predicted probabilities are from what happened; punishes confident mistakes.', '预测概率与实际结果的差距；对自信的错误惩罚更重。'] },
  rmse: { en: 'RMSE (purchases)', zh: 'RMSE（购买件数）', better: 'lower', about: ['Root mean squared error of the predicted number of purchases.', '预测购买件数的均方根误差。'] },
  demand_mape: { en: 'Demand MAPE (all categories)', zh: '需求 MAPE（全部品类）', better: 'lower', about: ['Mean absolute percentage error of the predicted purchases per top-level category, summed over shoppers.', '各一级品类预测购买量（按用户汇总）的平均绝对百分比误差。'] },
  mape: { en: 'MAPE', zh: 'MAPE（平均绝对百分比误差）', better: 'lower', about: ['Mean absolute percentage error of the predicted demand per category.', '各品类需求预测的平均绝对百分比误差。'] },
  top_category_precision_at3: { en: 'Top-category precision@3', zh: '前三品类准确率', better: 'higher', about: ['Share of shoppers whose true favourite category is among the profile’s top three.', '真实最爱品类出现在画像前三品类中的用户比例。'] },
  churn_recall: { en: 'Churn recall', zh: '流失召回率', better: 'higher', about: ['Share of truly churned shoppers the profile calls churned.', '真实流失用户中被画像判为“已流失”的比例。'] },
  churn_precision: { en: 'Churn precision', zh: '流失精确率', better: 'higher', about: ['Share of shoppers called churned who truly churned.', '被判为“已流失”的用户中真实流失的比例。'] },
  new_recall: { en: 'New-shopper recall', zh: '新用户召回率', better: 'higher', about: ['Share of truly new shoppers whose lifecycle is “new”.', '真实新用户中生命周期为“新用户”的比例。'] },
  price_tier_exact_match: { en: 'Price-tier exact match', zh: '消费力档位准确率', better: 'higher', about: ['Share of shoppers whose purchasing-power tier equals the true one.', '消费力档位与真实档位一致的用户比例。'] },
  best_validation_ndcg10: { en: 'NDCG@10 (next item, validation)', zh: 'NDCG@10（下一商品，验证集）', better: 'higher', about: ['How high the item a shopper really chose next ranks in the model’s top 10 (1 = always first).', '用户真实选择的下一个商品在模型前 10 名中的排名质量（1 = 总排第一）。'] },
  validation_ndcg10_by_epoch: { en: 'NDCG@10 per epoch', zh: '每轮 NDCG@10', better: 'higher', about: ['The same figure after each training epoch.', '每轮训练后的同一指标。'] },
};

/** Other report fields, named for people. */
const Fields = {
  users: ['users', '用户数'], truth_users: ['users with ground truth', '有真实标签的用户'], missing_profiles: ['missing profiles', '缺少画像'],
  users_with_categories: ['users with categories', '有品类偏好的用户'], churned_users: ['churned users (truth)', '真实流失用户'],
  predicted_churned: ['predicted churned', '预测流失'], new_users: ['new users (truth)', '真实新用户'], users_with_tier: ['users with a tier', '有消费力档位的用户'],
  meets_targets: ['meets the targets', '达到目标'], tier_confusion: ['tier confusion (truth → profile)', '档位混淆（真实 → 画像）'],
  split: ['split', '切分'], train: ['train', '训练'], predict: ['predict', '预测'], segment: ['segment', '分群'], total: ['total', '合计'],
};

/** A report field's name in the current language: a metric's name, a known field's, or the key with spaces. */
export const fieldLabel = (key) =>
  (Metrics[key] ? pick(Metrics[key].en, Metrics[key].zh) : Fields[key] ? pick(...Fields[key]) : key.replace(/_/g, ' '));
