/* The live auction page (docs/api.md §5, docs/ui.md): one websocket per page, signed in by the
   session cookie.

   - hello {last_seq}: the server replays what we missed, then a snapshot, then live events;
     every event carries `seq` and anything at or below the last one seen is dropped.
   - ping {t} / pong {t, server_time}: the offset between server and page clocks, measured on the
     round trip with the smallest delay; the countdown is `ends_at` minus server time.
   - reconnects with growing back-off; a bid awaiting its answer is re-sent with the same `ref`
     after a reconnect (the server answers a repeated ref with its first answer).

   What the bidder sees follows the state: the bar (price, clock, my last bid's answer) stays in
   view; an answer goes stale with a newer price, a reconnect or the end; a rival taking the lead
   from me raises "您已被超越"; an open confirmation follows the price; the end tells me my
   outcome and my deposit's.
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
  var sock = null, attempts = 0, retryTimer = null, lastHeard = 0;
  var opened = false;              // a snapshot came on some connection: the next is a reconnect
  var pending = null;              // {ref, amount_fen, based_on_seq} awaiting accepted/rejected
  var sent = {};                   // refs sent by this page
  var ended = S.status === 'ended';
  var mine = cfg.mine;             // my registration: what becomes of my deposit at the end
  if (mine) mine.fresh = ended;    // read after the end: current; before it: read again then
  // My last bid's answer as the bar shows it: {kind: sending|ok|error|info, text, code?, seq?,
  // awaitingPrice?}; null when there is nothing current to say.
  var answer = null;
  var outbid = null;               // {number, amount_fen}: a rival took the lead from me
  var listeners = [];

  var $ = function (id) { return document.getElementById(id); };
  var els = {
    live: $('live'), conn: $('conn'), clock: $('clock'), phase: $('phase-label'),
    hint: $('phase-hint'), price: $('price'), priceLabel: $('price-label'), words: $('price-words'),
    round: $('round'), leader: $('leader'), leaderLabel: $('leader-label'), you: $('you'),
    steps: $('steps'), bidHint: $('bid-hint'), minimum: $('minimum'), message: $('message'),
    outbid: $('outbid'), ladder: $('ladder'), ladderEmpty: $('ladder-empty'),
    result: $('result'), resultText: $('result-text'), bidding: $('bidding'),
    outcome: $('outcome'), outcomeH: $('outcome-h'), outcomeText: $('outcome-text'),
    outcomeLinks: $('outcome-links'), alertToggle: $('alert-toggle'),
    dialog: $('confirm'), confirmBasis: $('confirm-basis'), confirmAmount: $('confirm-amount'),
    confirmWords: $('confirm-words'), confirmNote: $('confirm-note'), confirmOk: $('confirm-ok')
  };
  // Each status's name and hint, as the page renders them (live-phases in auction.html).
  var PHASES = JSON.parse($('live-phases').textContent);
  // Refusals about the price: the bar adds the minimum a bid may have now.
  var PRICE_CODES = { stale: 1, below_minimum: 1, not_step_multiple: 1, too_many_steps: 1 };
  var topPrice = els.ladder.querySelector('tr');
  var lastPriceSeq = topPrice ? Number(topPrice.dataset.seq) : 0;  // seq of the newest bid known

  function me() { return S.you && S.you.bidder_number; }
  function running() { return S.status === 'free' || S.status === 'countdown'; }
  function leading() { return !!me() && S.leader_number === me(); }
  function sold() { return ended && !!S.result && S.result.result === 'sold'; }
  function connected() { return !!sock && sock.readyState === 1 && els.conn.dataset.state === 'open'; }

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

  function pad(n) { return n < 10 ? '0' + n : String(n); }

  /* A deadline in words as the pages, notices and contract write it (core.clock.deadline_zh):
     its last day and closing time in Beijing — a period ending at midnight ends at 24:00 of
     the day before (2026年12月21日24:00). */
  function zhDeadline(iso) {
    var d = new Date(Date.parse(iso) + 8 * 3600 * 1000);  // Beijing wall time in the UTC fields
    var midnight = !d.getUTCHours() && !d.getUTCMinutes() && !d.getUTCSeconds() && !d.getUTCMilliseconds();
    var day = midnight ? new Date(d.getTime() - 86400000) : d;
    var text = day.getUTCFullYear() + '年' + (day.getUTCMonth() + 1) + '月' + day.getUTCDate() + '日';
    return text + (midnight ? '24:00' : pad(d.getUTCHours()) + ':' + pad(d.getUTCMinutes()));
  }

  // ----- connection ----------------------------------------------------------------

  function setConn(state, text) {
    els.conn.dataset.state = state;
    els.conn.textContent = text;
    if (state !== 'open') closeConfirm(ask ? '连接中断，出价未提交；重连后请重新出价。' : '');
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

  setInterval(function () {
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
      case 'bid': if (m.seq > lastSeq) onBid(m); break;
      case 'phase':
        if (m.seq <= lastSeq) return;
        // A pause keeps the time left; the clock shows it frozen (unknown if paused on arrival).
        S.paused_left = m.status === 'paused' && S.ends_at ? Date.parse(S.ends_at) - Date.parse(m.at) : null;
        S.status = m.status; S.ends_at = m.ends_at;
        S.pause_reason = m.status === 'paused' ? m.reason : null;
        lastSeq = S.seq = m.seq;
        if (!running()) closeConfirm(m.status === 'paused' ? '竞价已暂停，出价未提交。' : '');
        break;
      case 'ended':
        if (m.seq <= lastSeq) return;
        S.status = 'ended'; S.ends_at = m.at; ended = true;
        S.result = { result: m.result, final_fen: m.final_fen, winner_number: m.winner_number };
        lastSeq = S.seq = m.seq;
        onEnd();
        break;
      case 'accepted': onAnswer(m, true); break;
      case 'rejected': onAnswer(m, false); break;
      case 'pong': onPong(m); break;
      case 'error': answer = { kind: 'error', text: m.message || '消息有误' }; break;
      default: return;
    }
    render();
  }

  function onBid(m) {
    var wasLeading = leading();
    S.current_fen = m.amount_fen; S.leader_number = m.bidder_number; S.round = m.round;
    if (m.ends_at) S.ends_at = m.ends_at;
    if ('minimum_fen' in m) S.minimum_fen = m.minimum_fen;  // the server's rule, not ours
    addRow(m);
    lastSeq = S.seq = lastPriceSeq = m.seq;
    var mineNow = m.bidder_number === me();
    if (mineNow) outbid = null;
    else if (wasLeading || outbid) {  // the banner names whoever leads now
      outbid = { number: m.bidder_number, amount_fen: m.amount_fen };
      if (wasLeading) alertOutbid();
    }
    // A newer price makes my last answer stale, except the price a refusal was waiting for.
    if (answer && answer.kind !== 'sending' && !(answer.kind === 'ok' && m.seq <= answer.seq)) {
      if (answer.awaitingPrice) answer.awaitingPrice = false;
      else answer = null;
    }
    followPrice(m);
  }

  function onSnapshot(m) {
    var wasLeading = leading();
    ['status', 'round', 'current_fen', 'leader_number', 'ends_at', 'increment_fen', 'max_steps',
     'minimum_fen', 'mode', 'fixed_end', 'result', 'you'
    ].forEach(function (k) { if (k in m) S[k] = m[k]; });
    if (!('result' in m)) S.result = null;
    if (bestRtt === Infinity) offset = Date.parse(m.server_time) - Date.now();
    lastSeq = S.seq = Math.max(lastSeq, m.seq);
    var wasEnded = ended;
    ended = S.status === 'ended';
    attempts = 0;
    // After a reconnect an answer from before it says nothing about now.
    if (opened && answer && answer.kind !== 'sending') answer = null;
    opened = true;
    if (leading()) outbid = null;
    else if (wasLeading && S.leader_number) outbid = { number: S.leader_number, amount_fen: S.current_fen };
    setConn('open', '已连接 · 实时');
    if (ended && !wasEnded) onEnd();
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
    var bid = pending && pending.ref === m.ref ? pending : null;
    if (bid) pending = null;
    if (ok) {
      outbid = null;
      answer = { kind: 'ok', seq: m.seq, text: '出价成功：' + RX.yuan(m.amount_fen) + '（第 ' + m.round + ' 轮），您目前领先' };
      if (m.seq > lastPriceSeq) lastPriceSeq = m.seq;
    } else {
      // `stale`: the price moved after the one I bid on; its frame may still be on its way.
      var awaiting = m.code === 'stale' && !!bid && lastPriceSeq <= bid.based_on_seq;
      answer = { kind: 'error', code: m.code, text: m.message || '出价未被接受', awaitingPrice: awaiting };
    }
  }

  function onEnd() {
    answer = null;
    outbid = null;
    pending = null;
    closeConfirm('');
    if (mine && me()) refreshMine(3);
  }

  // ----- the outbid alert: a banner always; sound and vibration when the bidder turned them on

  var ALERT_KEY = 'ruralx.live.outbidAlert';
  var alertOn = false, audio = null;
  try { alertOn = localStorage.getItem(ALERT_KEY) === '1'; } catch (e) { /* storage refused */ }
  if (els.alertToggle) {
    els.alertToggle.checked = alertOn;
    els.alertToggle.addEventListener('change', function () {
      alertOn = els.alertToggle.checked;
      try { localStorage.setItem(ALERT_KEY, alertOn ? '1' : '0'); } catch (e) { /* not kept */ }
      if (alertOn) beep();  // a sample, and browsers let sound start only after a tap
    });
  }
  // Browsers start audio only after a gesture: have it ready from the first tap.
  document.addEventListener('pointerdown', function () { if (alertOn) sound(); }, { once: true });

  function sound() {
    if (!audio) {
      var Ctx = window.AudioContext || window.webkitAudioContext;
      if (!Ctx) return null;
      audio = new Ctx();
    }
    if (audio.state === 'suspended' && audio.resume) audio.resume();
    return audio;
  }

  function beep() {
    var ctx = sound();
    if (!ctx) return;
    var osc = ctx.createOscillator(), gain = ctx.createGain(), t = ctx.currentTime;
    osc.type = 'sine';
    osc.frequency.value = 880;
    gain.gain.setValueAtTime(0.0001, t);
    gain.gain.exponentialRampToValueAtTime(0.3, t + 0.02);
    gain.gain.exponentialRampToValueAtTime(0.0001, t + 0.35);
    osc.connect(gain);
    gain.connect(ctx.destination);
    osc.start(t);
    osc.stop(t + 0.4);
  }

  function alertOutbid() {
    if (!alertOn) return;
    if (navigator.vibrate) navigator.vibrate([200, 100, 200]);
    beep();
  }

  // ----- the ladder --------------------------------------------------------------------

  function who(number) {
    if (!number) return '暂无出价';
    return number === me() ? '我（' + number + '）' : number;
  }

  function addRow(b) {
    if (els.ladder.querySelector('tr[data-seq="' + b.seq + '"]')) return;
    var tr = document.createElement('tr');
    tr.dataset.seq = b.seq;
    [b.round, who(b.bidder_number), RX.yuan(b.amount_fen), RX.beijingTime(b.at), '']
      .forEach(function (v, i) {
        var td = document.createElement('td');
        td.textContent = v;
        td.className = ['', '', 'num', 't', 'st'][i];
        tr.appendChild(td);
      });
    if (b.bidder_number === me()) tr.className = 'mine';
    // Newest first; replayed frames arrive in order, so each goes on top.
    els.ladder.insertBefore(tr, els.ladder.firstChild);
    els.ladderEmpty.hidden = true;
  }

  function renderLadder() {
    var top = sold() ? '竞得' : ended ? '未成交' : '领先';
    Array.prototype.forEach.call(els.ladder.rows, function (tr, i) {
      var cell = tr.cells[4];
      var text = i ? '出局' : top;
      if (cell && cell.textContent !== text) cell.textContent = text;
      tr.classList.toggle('top', !i);
    });
  }

  // ----- bidding -----------------------------------------------------------------------

  function bidFrame(p) {
    return { type: 'bid', ref: p.ref, amount_fen: p.amount_fen, based_on_seq: p.based_on_seq };
  }

  function mayBid() {
    return !!me() && running() && connected() && !pending && (!leading() || cfg.self_outbid_allowed);
  }

  // The open confirmation: how many steps over the current price, the amount, and the event
  // it was based on (sent as `based_on_seq`, so a price that moved meanwhile is `stale`).
  var ask = null, holdTimer = null;

  function openConfirm(steps) {
    ask = { steps: steps, amount: S.current_fen + steps * S.increment_fen, based_on_seq: lastSeq };
    fillConfirm(null);
    els.dialog.returnValue = '';  // else Esc would leave the last confirmation's 'ok'
    if (els.dialog.showModal) { els.dialog.showModal(); els.confirmOk.focus(); }
    else if (window.confirm('确认出价 ' + RX.yuan(ask.amount) + '？')) { var a = ask; ask = null; send(a); }
  }

  function fillConfirm(moved) {
    els.confirmBasis.textContent = ask.steps
      ? '当前价 ' + RX.yuan(S.current_fen) + ' 加 ' + ask.steps + ' 档（每档 ' + RX.yuan(S.increment_fen) + '）'
      : '按起始价出价';
    els.confirmAmount.textContent = RX.yuan(ask.amount);
    els.confirmWords.textContent = RX.inWords(ask.amount);
    els.confirmNote.textContent = moved
      ? '价格已变动：竞买号 ' + moved.bidder_number + ' 出价 ' + RX.yuan(moved.amount_fen) +
        '。您的出价已按同样档数更新为 ' + RX.yuan(ask.amount) + '，请再次确认。'
      : '';
  }

  /* A bid came while the confirmation is open: the amount follows the price (same number of
     steps), and the confirm button waits a moment so a tap meant for the old amount does not
     confirm the new one. */
  function followPrice(m) {
    if (!ask) return;
    if (leading() && !cfg.self_outbid_allowed) { closeConfirm('您已是最高出价人，无需再出价。'); return; }
    var steps = Math.min(Math.max(ask.steps, 1), S.max_steps || 1);
    ask = { steps: steps, amount: S.current_fen + steps * S.increment_fen, based_on_seq: lastSeq };
    fillConfirm(m);
    els.confirmOk.disabled = true;
    clearTimeout(holdTimer);
    holdTimer = setTimeout(function () { els.confirmOk.disabled = false; }, 1200);
  }

  function closeConfirm(why) {
    if (!ask) return;
    ask = null;
    if (els.dialog.open) els.dialog.close('cancel');
    if (why) answer = { kind: 'info', text: why };
  }

  els.dialog.addEventListener('close', function () {
    var chosen = els.dialog.returnValue === 'ok' ? ask : null;
    ask = null;
    clearTimeout(holdTimer);
    els.confirmOk.disabled = false;
    if (chosen) send(chosen);
    render();
  });

  function send(a) {
    if (!connected()) {
      answer = { kind: 'error', text: '连接中断，出价未发送，请在重连后重试' };
      render();
      return;
    }
    pending = { ref: newRef(), amount_fen: a.amount, based_on_seq: a.based_on_seq };
    sent[pending.ref] = true;
    sock.send(JSON.stringify(bidFrame(pending)));
    answer = { kind: 'sending', text: '出价 ' + RX.yuan(a.amount) + ' 已发送，等待确认…' };
    render();
  }

  var stepKey = '';
  function renderSteps() {
    var base = S.current_fen, inc = S.increment_fen, n = S.max_steps || 1;
    var equal = S.round === 0 && S.minimum_fen === base;
    var key = [base, inc, n, equal].join('/');
    if (key !== stepKey) {
      stepKey = key;
      els.steps.textContent = '';
      var options = [];
      if (equal) options.push({ label: '按起始价', steps: 0 });
      for (var k = 1; k <= n; k++) options.push({ label: '+' + k + ' 档', steps: k });
      options.forEach(function (o) {
        var amount = base + o.steps * inc;
        var b = document.createElement('button');
        b.type = 'button';
        b.className = 'step';
        b.dataset.amount = amount;
        var l = document.createElement('span'); l.className = 'k'; l.textContent = o.label;
        var a = document.createElement('span'); a.className = 'amt'; a.textContent = RX.yuan(amount);
        var w = document.createElement('span'); w.className = 'w'; w.textContent = RX.inWords(amount);
        b.appendChild(l); b.appendChild(a); b.appendChild(w);
        b.addEventListener('click', function () { if (mayBid()) openConfirm(o.steps); });
        els.steps.appendChild(b);
      });
    }
    var can = mayBid();
    els.steps.querySelectorAll('button').forEach(function (b) { b.disabled = !can; });
    els.minimum.textContent = RX.yuan(S.minimum_fen);
    var hint = '点选加价档位，确认后提交。';
    if (ended) hint = '竞价已结束。';
    else if (S.status === 'scheduled') hint = '竞价开始后方可出价。';
    else if (S.status === 'paused') hint = '竞价暂停中，恢复后方可出价。';
    else if (!connected()) hint = '连接恢复后方可出价。';
    else if (pending) hint = '等待服务器确认上一次出价…';
    else if (leading() && !cfg.self_outbid_allowed) hint = '您目前是最高出价人，他人出价后方可再出价。';
    els.bidHint.textContent = hint;
  }

  // ----- my outcome at the end ----------------------------------------------------------

  /* The deposit's fate is decided in the transaction that ends the auction: read my
     registration again once the end is known. */
  function refreshMine(tries) {
    fetch('/api/v1/registrations/' + mine.registration_id, {
      credentials: 'same-origin', headers: { Accept: 'application/json' }
    }).then(function (r) {
      if (!r.ok) throw new Error(String(r.status));
      return r.json();
    }).then(function (reg) {
      mine.deposit_state = reg.deposit_state;
      mine.refund_due_at = reg.refund_due_at || null;
      mine.fresh = true;
      render();
    }).catch(function () {
      if (tries > 1) setTimeout(function () { refreshMine(tries - 1); }, 1500);
      else { mine.fresh = true; render(); }
    });
  }

  function link(href, text, primary) {
    var a = document.createElement('a');
    a.href = href;
    a.className = primary ? 'btn' : 'btn secondary';
    a.textContent = text;
    return a;
  }

  function refundDue() {
    return mine.fresh && mine.deposit_state === 'refundable' && mine.refund_due_at
      ? zhDeadline(mine.refund_due_at) : null;
  }

  function depositText() {
    var amount = RX.yuan(mine.deposit_fen), due = refundDue();
    if (!mine.fresh) return '正在查询保证金退还安排…';
    if (due) return '您的保证金 ' + amount + ' 将于 ' + due + '前原路退还，无需申请。';
    if (mine.deposit_state === 'held') {
      return '您是候补竞买人：竞得人放弃或违约时可能向您递补成交，保证金 ' + amount +
        ' 暂不退还，成交合同签订后原路退还。';
    }
    if (mine.deposit_state === 'refunded') return '您的保证金 ' + amount + ' 已原路退还。';
    return '您的保证金 ' + amount + ' 将按公告原路退还，详见“我的报名”。';
  }

  function won() {
    return sold() && S.result.winner_number === me();
  }

  /* At the end the bar says in a line how it ended for me; the outcome below tells the rest. */
  function headline() {
    if (won()) return { kind: 'ok', text: '恭喜您竞得本项目' };
    var due = refundDue();
    var text = sold() ? '未竞得' : '本场竞价未成交';
    return { kind: 'info', text: due ? text + '，保证金将于 ' + due + '前退还' : text };
  }

  function renderOutcome() {
    var show = ended && !!me() && !!mine;
    els.outcome.hidden = !show;
    if (!show) return;
    var r = S.result;
    els.outcome.className = 'outcome ' + (won() ? 'won' : 'lost');
    els.outcomeLinks.textContent = '';
    if (won()) {
      els.outcomeH.textContent = '恭喜您竞得本项目';
      els.outcomeText.textContent = '成交价 ' + RX.yuan(r.final_fen) + '（' + RX.inWords(r.final_fen) +
        '）。下一步：成交结果公示期满无异议后，平台通知您与村集体签订租赁合同；您的保证金将抵作首期租金。';
      els.outcomeLinks.appendChild(link('/me/deals', '查看我的成交', true));
      els.outcomeLinks.appendChild(link('/listings/' + cfg.listing_id + '#deal', '成交结果公示'));
      return;
    }
    els.outcomeH.textContent = sold() ? '您未竞得本项目' : '本场竞价未成交';
    els.outcomeText.textContent = (sold()
      ? '成交价 ' + RX.yuan(r.final_fen) + '，竞得人竞买号 ' + r.winner_number + '。' : '') + depositText();
    els.outcomeLinks.appendChild(link('/me/registrations#reg-' + mine.registration_id, '我的报名'));
  }

  // ----- rendering ---------------------------------------------------------------------

  function renderMessage() {
    var el = els.message;
    if (ended && me()) answer = headline();
    var text = answer ? answer.text : '';
    if (answer && answer.kind === 'error' && PRICE_CODES[answer.code]) {
      text += answer.awaitingPrice ? '。价格已变动，正在获取最新价格…'
        : '。当前最低可出价 ' + RX.yuan(S.minimum_fen);
    }
    if (el.textContent !== text) el.textContent = text;
    el.className = 'message' + (answer ? ' ' + answer.kind : '');
    if (answer && answer.code) el.dataset.code = answer.code; else delete el.dataset.code;
    var banner = outbid && !ended
      ? '您已被超越：竞买号 ' + outbid.number + ' 出价 ' + RX.yuan(outbid.amount_fen) : '';
    els.outbid.hidden = !banner;
    if (els.outbid.textContent !== banner) els.outbid.textContent = banner;
  }

  function render() {
    els.live.dataset.status = S.status;
    var phase = PHASES[phaseKey()] || { label: S.status, hint: '' };
    els.phase.textContent = phase.label;
    els.hint.textContent = S.status === 'paused' && S.pause_reason
      ? '竞价暂停中（' + S.pause_reason + '），恢复后继续计时'
      : ended && S.ends_at ? '结束于 ' + RX.beijingTime(S.ends_at) + '（北京时间）' : phase.hint;
    els.price.textContent = RX.yuan(S.current_fen);
    els.priceLabel.textContent = sold() ? '成交价' : !S.round ? '起始价' : ended ? '最高出价' : '当前价';
    els.words.textContent = RX.inWords(S.current_fen);
    els.round.textContent = S.round;
    els.leaderLabel.textContent = ended ? '竞得人' : '领先';
    els.leader.textContent = ended ? (sold() ? who(S.result.winner_number) : '无') : who(S.leader_number);
    els.leader.classList.toggle('me', leading());
    els.you.textContent = me() || '—';
    els.bidding.hidden = !me() || ended;
    // A bidder reads the result in his own outcome; watchers in the result.
    els.result.hidden = !ended || (!!me() && !!mine);
    if (ended) {
      var r = S.result || {};
      els.resultText.textContent = r.result === 'sold'
        ? '成交价 ' + RX.yuan(r.final_fen) + '，竞得人竞买号 ' + who(r.winner_number)
        : '本场竞价未成交';
    }
    renderSteps();
    renderMessage();
    renderLadder();
    renderOutcome();
    tick();
    listeners.forEach(function (fn) { fn(S); });
  }

  function tick() {
    if (ended) {
      els.clock.textContent = S.ends_at ? RX.beijingTime(S.ends_at) : '';
      els.clock.classList.remove('urgent');
      return;
    }
    var timed = S.ends_at && (S.status === 'scheduled' || running());
    if (!timed) {
      els.clock.textContent = S.status === 'paused' && S.paused_left != null ? RX.clock(S.paused_left) : '--:--';
      els.clock.classList.remove('urgent');
      return;
    }
    var left = Date.parse(S.ends_at) - serverNow();
    els.clock.textContent = RX.clock(left);
    els.clock.classList.toggle('urgent', running() && left < 60000);
    if (left <= 0 && running()) els.hint.textContent = '计时结束，等待服务器确认结果…';
  }

  setInterval(tick, 200);
  window.ruralxLive = {
    state: S,
    lastSeq: function () { return lastSeq; },
    offset: function () { return offset; },
    /* Called with the state after every change (the reviewer's controls follow it). */
    onRender: function (fn) { listeners.push(fn); fn(S); }
  };
  render();
  connect();
})();
