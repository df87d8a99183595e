// dom.js - build elements without ever parsing data as HTML.
//
// Everything shown in the UI that came from the API (addresses, annotation names, error
// texts) is attacker-controllable (passive-DNS names are), so it only ever reaches the
// page as text nodes or attribute values: there is no innerHTML anywhere in web/.

// h('a', {href, class, onclick, dataset: {...}}, child...): children are nodes or text.
export function h (tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') el.className = value;
    else if (key === 'dataset') Object.assign(el.dataset, value);
    else if (key.startsWith('on') && typeof value === 'function') {
      el.addEventListener(key.slice(2), value);
    } else el.setAttribute(key, value === true ? '' : String(value));
  }
  append(el, children);
  return el;
}

export function append (el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

// Replace every child of el with the given children.
export function fill (el, ...children) {
  el.replaceChildren();
  return append(el, children);
}

export function byId (id) {
  const el = document.getElementById(id);
  if (!el) throw new Error(`index.html has no #${id}`);
  return el;
}
