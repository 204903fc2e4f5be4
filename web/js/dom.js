// dom.js — building the page safely.
//
// Everything shown comes from the API, so text is always set as text, never
// parsed as HTML: h() has no way to set innerHTML. Attributes named on* are
// refused too; behaviour is attached with addEventListener (the CSP forbids
// inline handlers anyway).

// h('a', { href: '#/', class: 'link' }, 'text', childNode, [more], null)
// Attribute values: true → empty attribute, false/null/undefined → omitted.
// Children: strings and numbers become text nodes; arrays are flattened;
// null, undefined and false are skipped.
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs ?? {})) {
    if (/^on/i.test(name)) throw new Error(`h(): inline handler ${name} refused`);
    if (value === false || value === null || value === undefined) continue;
    el.setAttribute(name, value === true ? '' : String(value));
  }
  append(el, children);
  return el;
}

function append(parent, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(parent, child);
    else if (child instanceof Node) parent.append(child);
    else parent.append(document.createTextNode(String(child)));
  }
}

// Replaces all of el's children with the given ones.
export function replaceChildren(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}
