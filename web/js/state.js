// state.js - the page state lives in the URL (deep links; back and forward work).
//
//   ?date=2026-11-20&op=sum                      overview (no date: the latest day)
//   ?host=10.1.2.3&port=25&feature=bytes&op=sum  Port Evolution graph (port: N or all)
//   ?view=changes&date=2026-11-20&op=sum[&k=4&window=28]  what changed (no date: latest)
//   &direction=in                                 overview and graph, the incoming direction
//                                                 (absent: out, the outgoing one)
//
// Values are kept as given: the gateway validates them and its error is shown.

export function parseState (search) {
  const q = new URLSearchParams(search);
  if (q.has('host')) {
    return {
      view: 'graph',
      host: q.get('host').trim(),
      port: (q.get('port') || 'all').trim().toLowerCase() === 'all' ? 'all' : q.get('port').trim(),
      feature: q.get('feature') || 'bytes',
      op: q.get('op') || 'sum',
      from: q.get('from') || '',
      to: q.get('to') || '',
      direction: q.get('direction') || 'out'
    };
  }
  if (q.get('view') === 'changes') {
    return {
      view: 'changes',
      date: q.get('date') || '',
      op: q.get('op') || 'sum',
      k: q.get('k') || '',
      window: q.get('window') || ''
    };
  }
  return {
    view: 'overview',
    date: q.get('date') || '',
    op: q.get('op') || 'sum',
    direction: q.get('direction') || 'out'
  };
}

export function stateToSearch (state) {
  const q = new URLSearchParams();
  if (state.view === 'graph') {
    q.set('host', state.host);
    q.set('port', state.port || 'all');
    q.set('feature', state.feature || 'bytes');
    q.set('op', state.op || 'sum');
    if (state.from) q.set('from', state.from);
    if (state.to) q.set('to', state.to);
  } else if (state.view === 'changes') {
    q.set('view', 'changes');
    if (state.date) q.set('date', state.date);
    if (state.op && state.op !== 'sum') q.set('op', state.op);
    if (state.k) q.set('k', state.k);
    if (state.window) q.set('window', state.window);
  } else {
    if (state.date) q.set('date', state.date);
    if (state.op && state.op !== 'sum') q.set('op', state.op);
  }
  if (state.direction && state.direction !== 'out') q.set('direction', state.direction);
  const s = q.toString();
  return s ? `?${s}` : location.pathname;
}

export function graphState (host, port, feature, op, direction = 'out') {
  return { view: 'graph', host, port: String(port), feature, op, direction };
}

// The direction as the API takes it: nothing for out (the default), else as given (the
// gateway refuses a value that is neither out nor in, and its error is shown).
export function directionParam (direction) {
  return direction && direction !== 'out' ? direction : undefined;
}

// Headings: "outgoing" (local hosts as sources) or "incoming" (local hosts as destinations).
export function directionText (direction) {
  return direction === 'in' ? 'incoming' : direction && direction !== 'out' ? direction : 'outgoing';
}
