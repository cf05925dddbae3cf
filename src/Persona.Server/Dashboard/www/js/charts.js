// ECharts (loaded as a classic script from the local npm install) with one place that tracks instances.
const instances = new Set();
// Under automation (Playwright sets navigator.webdriver) charts draw at once, so screenshots are complete.
const animate = !navigator.webdriver;

export const palette = ['#3b6ef5', '#f59e0b', '#10b981', '#ef4444', '#8b5cf6', '#06b6d4', '#ec4899', '#84cc16', '#64748b', '#f97316'];

export function chart(el, option) {
  const instance = globalThis.echarts.init(el, null, { renderer: 'canvas' });
  instance.setOption({ animation: animate, color: palette, textStyle: { fontFamily: 'system-ui, "Noto Sans CJK SC", "WenQuanYi Zen Hei", sans-serif' }, ...option });
  instances.add(instance);
  return instance;
}

export function disposeCharts() {
  for (const instance of instances) instance.dispose();
  instances.clear();
}

addEventListener('resize', () => { for (const instance of instances) instance.resize(); });
