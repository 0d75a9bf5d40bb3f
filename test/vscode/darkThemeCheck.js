// Runs in the task panel's page (the UI smoke evaluates this file's function with the <body>):
// what a dark theme makes hard to read. Colours must come from the theme's variables, text and
// buttons must stand out (WCAG contrast ratio), and a secondary button must be told from the page
// by its background or its border. Returns the problems found, as sentences.
(body) => {
  const rgb = (c) => (c.match(/[\d.]+/g) || []).slice(0, 3).map(Number);
  const channel = (v) => (v / 255 <= 0.03928 ? v / 255 / 12.92 : ((v / 255 + 0.055) / 1.055) ** 2.4);
  const luminance = (c) => {
    const [r = 0, g = 0, b = 0] = rgb(c).map(channel);
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  const contrast = (a, b) => {
    const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
    return (hi + 0.05) / (lo + 0.05);
  };
  // What a CSS value (e.g. a theme variable) computes to in this page.
  const resolve = (prop, value) => {
    const probe = document.createElement('div');
    probe.style.setProperty(prop, value);
    body.append(probe);
    const out = getComputedStyle(probe).getPropertyValue(prop);
    probe.remove();
    return out;
  };
  const problems = [];
  const page = getComputedStyle(body);
  if (page.backgroundColor !== resolve('background-color', 'var(--vscode-editor-background)')) problems.push(`the page's background ${page.backgroundColor} is not the theme's`);
  if (contrast(page.color, page.backgroundColor) < 4.5) problems.push(`text ${page.color} on ${page.backgroundColor} is hard to read`);
  const secondary = body.querySelector('.task-header button:not(.primary)');
  if (!secondary) return [...problems, 'no secondary button in the task header'];
  const b = getComputedStyle(secondary);
  const themed = resolve('background-color', 'var(--vscode-button-secondaryBackground, var(--vscode-editorWidget-background))');
  if (b.backgroundColor !== themed) problems.push(`a secondary button's background ${b.backgroundColor} is not the theme's ${themed}`);
  if (contrast(b.color, b.backgroundColor) < 4.5) problems.push(`a secondary button's label ${b.color} on ${b.backgroundColor} is hard to read`);
  const bordered = parseFloat(b.borderTopWidth) > 0 && contrast(b.borderTopColor, page.backgroundColor) >= 1.5;
  if (contrast(b.backgroundColor, page.backgroundColor) < 1.1 && !bordered) problems.push(`a secondary button (${b.backgroundColor}) does not stand out from the page (${page.backgroundColor})`);
  return problems;
}
