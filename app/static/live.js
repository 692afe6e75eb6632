/* The live auction page (docs/api.md §5): one websocket per page, signed in by the session cookie.

   - hello {last_seq}: the server replays what we missed, then a snapshot, then live events;
     every event carries `seq` and anything at or below the last one seen is dropped.
   - ping {t} / pong {t, server_time}: the offset between server and page clocks, measured on the
     round trip with the smallest delay; the countdown is `ends_at` minus server time.
   - reconnects with growing back-off; a bid awaiting its answer is re-sent with the same `ref`
     after a reconnect (the server answers a repeated ref with its first answer).
*/
(function () {
  'use strict';
  var RX = window.RX;
  var cfgEl = document.getElementById('live-config');
  if (!cfgEl || !RX) return;
  var cfg = JSON.parse(cfgEl.textContent);
  var S = cfg.snapshot;            // the auction as we know it
  var lastSeq = S.seq;             // the last event seen
  var offset = Date.parse(S.server_time) - Date.now();  // server clock minus page clock
  var bestRtt = Infinity;
  var sock = null, attempts = 0, retryTimer = null, pingTimer = null, lastHeard = 0;
  var pending = null;              // {ref, amount_fen, based_on_seq} awaiting accepted/rejected
  var sent = {};                   // refs sent by this page
  var ended = S.status === 'ended';

  var $ = function (id) { return document.getElementById(id); };
  var els = {
    live: $('live'), conn: $('conn'), clock: $('clock'), phase: $('phase-label'),
    hint: $('phase-hint'), price: $('price'), words: $('price-words'), round: $('round'),
    leader: $('leader'), you: $('you'), steps: $('steps'), bidHint: $('bid-hint'),
    message: $('message'), ladder: $('ladder'), ladderEmpty: $('ladder-empty'),
    result: $('result'), resultText: $('result-text'), bidding: $('bidding'),
    dialog: $('confirm'), confirmAmount: $('confirm-amount'), confirmWords: $('confirm-words')
  };
  // Each status's name and hint, as the page renders them (live-phases in auction.html).
  var PHASES = JSON.parse($('live-phases').textContent);

  function me() { return S.you && S.you.bidder_number; }
  function running() { return S.status === 'free' || S.status === 'countdown'; }

  // A fixed-end auction bids in one period (status `free`); a late bid moves `ends_at` past
  // the scheduled end (延时), at most to the hard deadline.
  function phaseKey() {
    var fe = S.mode === 'fixed_end' && S.fixed_end;
    if (!fe || S.status !== 'free' || !S.ends_at) return S.status;
    var end = Date.parse(S.ends_at);
    if (fe.hard_deadline && end >= Date.parse(fe.hard_deadline) &&
        end > Date.parse(fe.scheduled_end)) return 'capped';
    return end > Date.parse(fe.scheduled_end) ? 'extended' : 'fixed';
  }
  function serverNow() { return Date.now() + offset; }

  function newRef() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    var b = new Uint8Array(16);
    crypto.getRandomValues(b);
    return Array.prototype.map.call(b, function (x) { return (x + 256).toString(16).slice(1); }).join('');
  }

  // ----- connection ----------------------------------------------------------------

  function setConn(state, text) {
    els.conn.dataset.state = state;
    els.conn.textContent = text;
    render();
  }

  function url() {
    return (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host +
      '/ws/auctions/' + cfg.listing_id;
  }

  function connect() {
    clearTimeout(retryTimer);
    if (sock) return;
    setConn(attempts ? 'reconnecting' : 'connecting', attempts ? '正在重新连接…' : '正在连接…');
    var ws;
    try { ws = new WebSocket(url()); } catch (e) { scheduleRetry(); return; }
    sock = ws;
    ws.onopen = function () {
      lastHeard = Date.now();
      ws.send(JSON.stringify({ type: 'hello', last_seq: lastSeq }));
      ping();
    };
    ws.onmessage = function (ev) {
      lastHeard = Date.now();
      var m;
      try { m = JSON.parse(ev.data); } catch (e) { return; }
      onFrame(m);
    };
    ws.onclose = function (ev) {
      if (sock !== ws) return;
      sock = null;
      if (ev.code === 4404) { setConn('closed', '该项目的竞价尚未建立'); return; }
      if (ended && ev.code === 1000) { setConn('closed', '竞价已结束'); return; }
      scheduleRetry(ev.code === 4008);
    };
    ws.onerror = function () { /* onclose follows */ };
  }

  function drop() {
    // Treat the connection as lost now (no answer to pings, or the system went offline).
    if (!sock) return;
    var ws = sock;
    sock = null;
    try { ws.close(); } catch (e) { /* already closing */ }
    scheduleRetry(false);
  }

  function scheduleRetry(now) {
    clearTimeout(retryTimer);
    if (!navigator.onLine) {
      setConn('offline', '网络已断开，恢复后将自动重连并补齐出价记录');
      return;
    }
    var delay = now ? 0 : Math.min(10000, 500 * Math.pow(2, attempts)) * (0.75 + Math.random() * 0.5);
    attempts += 1;
    setConn('reconnecting', '连接中断，' + Math.max(1, Math.round(delay / 1000)) +
      ' 秒后重连（第 ' + attempts + ' 次）…');
    retryTimer = setTimeout(connect, delay);
  }

  function ping() {
    if (sock && sock.readyState === 1) sock.send(JSON.stringify({ type: 'ping', t: Date.now() }));
  }

  pingTimer = setInterval(function () {
    if (!sock || sock.readyState !== 1) return;
    if (Date.now() - lastHeard > 12000) { drop(); return; }  // the line went dead silently
    ping();
  }, 4000);

  window.addEventListener('offline', function () { drop(); });
  window.addEventListener('online', function () { attempts = 0; connect(); });

  // ----- frames ----------------------------------------------------------------------

  function onFrame(m) {
    switch (m.type) {
      case 'snapshot': onSnapshot(m); break;
      case 'bid':
        if (m.seq <= lastSeq) return;
        S.current_fen = m.amount_fen; S.leader_number = m.bidder_number; S.round = m.round;
        if (m.ends_at) S.ends_at = m.ends_at;
        if ('minimum_fen' in m) S.minimum_fen = m.minimum_fen;  // the server's rule, not ours
        addRow(m);
        lastSeq = S.seq = m.seq;
        break;
      case 'phase':
        if (m.seq <= lastSeq) return;
        S.status = m.status; S.ends_at = m.ends_at;
        lastSeq = S.seq = m.seq;
        if (m.status === 'paused') say('竞价已暂停' + (m.reason ? '：' + m.reason : ''), 'info');
        else if (m.reason) say('竞价已恢复：' + m.reason, 'info');
        break;
      case 'ended':
        if (m.seq <= lastSeq) return;
        S.status = 'ended'; S.ends_at = null; ended = true;
        S.result = { result: m.result, final_fen: m.final_fen, winner_number: m.winner_number };
        lastSeq = S.seq = m.seq;
        break;
      case 'accepted': onAnswer(m, true); break;
      case 'rejected': onAnswer(m, false); break;
      case 'pong': onPong(m); break;
      case 'error': say(m.message || '消息有误', 'error'); break;
      default: return;
    }
    render();
  }

  function onSnapshot(m) {
    ['status', 'round', 'current_fen', 'leader_number', 'ends_at', 'increment_fen', 'max_steps',
     'minimum_fen', 'mode', 'fixed_end', 'result', 'you'
    ].forEach(function (k) { if (k in m) S[k] = m[k]; });
    if (!('result' in m)) S.result = null;
    if (bestRtt === Infinity) offset = Date.parse(m.server_time) - Date.now();
    lastSeq = S.seq = Math.max(lastSeq, m.seq);
    ended = S.status === 'ended';
    attempts = 0;
    setConn('open', '已连接 · 实时');
    if (pending && sock) sock.send(JSON.stringify(bidFrame(pending)));  // same ref: idempotent
  }

  function onPong(m) {
    var now = Date.now(), rtt = now - m.t;
    if (typeof m.t !== 'number' || rtt < 0) return;
    if (rtt <= bestRtt * 1.5 || rtt < 100) {
      offset = Date.parse(m.server_time) + rtt / 2 - now;
      bestRtt = Math.min(bestRtt, rtt);
    }
  }

  function onAnswer(m, ok) {
    if (!sent[m.ref]) return;
    if (pending && pending.ref === m.ref) pending = null;
    if (ok) say('出价成功：' + RX.yuan(m.amount_fen) + '（第 ' + m.round + ' 轮）', 'ok');
    else say(m.message || '出价未被接受', 'error', m.code);
  }

  function say(text, kind, code) {
    els.message.textContent = text;
    els.message.className = 'message ' + (kind || '');
    if (code) els.message.dataset.code = code; else delete els.message.dataset.code;
  }

  function who(number) {
    if (!number) return '暂无出价';
    return number === me() ? '我（' + number + '）' : number;
  }

  function addRow(b) {
    if (els.ladder.querySelector('tr[data-seq="' + b.seq + '"]')) return;
    var tr = document.createElement('tr');
    tr.dataset.seq = b.seq;
    [b.seq, b.round, who(b.bidder_number), RX.yuan(b.amount_fen), RX.beijingTime(b.at)]
      .forEach(function (v, i) {
        var td = document.createElement('td');
        td.textContent = v;
        if (i === 3) td.className = 'num';
        tr.appendChild(td);
      });
    if (b.bidder_number === me()) tr.className = 'mine';
    // Newest first; replayed frames arrive in order, so each goes on top.
    els.ladder.insertBefore(tr, els.ladder.firstChild);
    els.ladderEmpty.hidden = true;
  }

  // ----- bidding -----------------------------------------------------------------------

  function bidFrame(p) {
    return { type: 'bid', ref: p.ref, amount_fen: p.amount_fen, based_on_seq: p.based_on_seq };
  }

  var chosen = null;
  function ask(amount) {
    chosen = amount;
    els.confirmAmount.textContent = RX.yuan(amount);
    els.confirmWords.textContent = RX.inWords(amount);
    if (els.dialog.showModal) { els.dialog.showModal(); $('confirm-ok').focus(); }
    else if (window.confirm('确认出价 ' + RX.yuan(amount) + '？')) send(amount);
  }

  els.dialog.addEventListener('close', function () {
    if (els.dialog.returnValue === 'ok' && chosen !== null) send(chosen);
    chosen = null;
  });

  function send(amount) {
    if (!sock || sock.readyState !== 1) { say('连接中断，出价未发送，请在重连后重试', 'error'); return; }
    pending = { ref: newRef(), amount_fen: amount, based_on_seq: lastSeq };
    sent[pending.ref] = true;
    sock.send(JSON.stringify(bidFrame(pending)));
    say('出价 ' + RX.yuan(amount) + ' 已发送，等待确认…', 'info');
    render();
  }

  var stepKey = '';
  function renderSteps() {
    var base = S.current_fen, inc = S.increment_fen, n = S.max_steps || 1;
    var key = [base, inc, n, S.round === 0 && S.minimum_fen === base].join('/');
    if (key !== stepKey) {
      stepKey = key;
      els.steps.textContent = '';
      var options = [];
      if (S.round === 0 && S.minimum_fen === base) options.push({ label: '按起始价', amount: base });
      for (var k = 1; k <= n; k++) options.push({ label: '+' + k + ' 档', amount: base + k * inc });
      options.forEach(function (o) {
        var b = document.createElement('button');
        b.type = 'button';
        b.className = 'step';
        b.dataset.amount = o.amount;
        var l = document.createElement('span'); l.className = 'k'; l.textContent = o.label;
        var a = document.createElement('span'); a.className = 'amt'; a.textContent = RX.yuan(o.amount);
        var w = document.createElement('span'); w.className = 'w'; w.textContent = RX.inWords(o.amount);
        b.appendChild(l); b.appendChild(a); b.appendChild(w);
        b.addEventListener('click', function () { ask(o.amount); });
        els.steps.appendChild(b);
      });
    }
    var connected = sock && sock.readyState === 1 && els.conn.dataset.state === 'open';
    var can = !!me() && running() && connected && !pending;
    els.steps.querySelectorAll('button').forEach(function (b) { b.disabled = !can; });
    var hint = '';
    if (!running()) hint = S.status === 'ended' ? '竞价已结束。' : '竞价进行中方可出价。';
    else if (!connected) hint = '连接恢复后方可出价。';
    else if (pending) hint = '等待服务器确认上一次出价…';
    else if (S.leader_number && S.leader_number === me()) hint = '您目前是最高出价人。';
    els.bidHint.textContent = hint;
  }

  // ----- rendering ---------------------------------------------------------------------

  function render() {
    els.live.dataset.status = S.status;
    var phase = PHASES[phaseKey()] || { label: S.status, hint: '' };
    els.phase.textContent = phase.label;
    els.hint.textContent = phase.hint;
    els.price.textContent = RX.yuan(S.current_fen);
    els.words.textContent = RX.inWords(S.current_fen);
    els.round.textContent = S.round;
    els.leader.textContent = who(S.leader_number);
    els.leader.classList.toggle('me', !!me() && S.leader_number === me());
    els.you.textContent = me() || '—';
    els.bidding.hidden = !me() || S.status === 'ended';
    if (S.status === 'ended') {
      els.result.hidden = false;
      var r = S.result || {};
      els.resultText.textContent = r.result === 'sold'
        ? '成交价 ' + RX.yuan(r.final_fen) + '，竞得人竞买号 ' + who(r.winner_number)
        : '本场竞价未成交';
    }
    renderSteps();
    tick();
  }

  function tick() {
    var timed = S.ends_at && (S.status === 'scheduled' || running());
    if (!timed) {
      els.clock.textContent = S.status === 'paused' ? '暂停' : S.status === 'ended' ? '结束' : '--:--';
      els.clock.classList.remove('urgent');
      return;
    }
    var left = Date.parse(S.ends_at) - serverNow();
    els.clock.textContent = RX.clock(left);
    els.clock.classList.toggle('urgent', running() && left < 60000);
    if (left <= 0 && running()) els.hint.textContent = '计时结束，等待服务器确认结果…';
  }

  setInterval(tick, 200);
  window.ruralxLive = { state: S, lastSeq: function () { return lastSeq; },
                        offset: function () { return offset; } };
  render();
  connect();
})();
