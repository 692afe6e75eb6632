/* The reviewer's pause / resume on the live page (docs/ui.md): only the action the auction's
   state allows is offered; it opens a confirmation dialog that asks for the reason (shown to
   every bidder and kept in the transaction log), then calls POST /api/v1/auctions/{id}/pause or
   /resume. The room's `phase` frame then changes the page for everyone, this one included.
   Without script the dialog's form posts to /review/auctions/{id}/control. */
(function () {
  'use strict';
  var live = window.ruralxLive, RX = window.RX;
  var $ = function (id) { return document.getElementById(id); };
  var dialog = $('ctl-dialog');
  if (!live || !RX || !dialog) return;
  var listingId = JSON.parse($('live-config').textContent).listing_id;
  var buttons = { pause: $('ctl-pause'), resume: $('ctl-resume') };
  var idle = $('ctl-idle'), note = $('ctl-message'), form = $('ctl-form'), action = $('ctl-action');
  var reason = $('ctl-reason'), error = $('ctl-error'), ok = $('ctl-ok');
  var TEXT = {
    pause: {
      title: '确认暂停竞价', ok: '确认暂停', done: '竞价已暂停',
      text: '暂停后所有竞买人不能出价，倒计时停止；恢复后按暂停时剩余的时间继续计时。' +
        '原因将向所有竞买人显示，并记入交易日志。'
    },
    resume: {
      title: '确认恢复竞价', ok: '确认恢复', done: '竞价已恢复',
      text: '恢复后竞买人即可出价，倒计时按暂停时剩余的时间继续。原因将向所有竞买人显示，并记入交易日志。'
    }
  };
  var busy = false;

  function allowed(S) {
    if (S.status === 'free' || S.status === 'countdown') return 'pause';
    return S.status === 'paused' ? 'resume' : null;
  }

  function follow(S) {
    var valid = allowed(S);
    buttons.pause.hidden = valid !== 'pause';
    buttons.resume.hidden = valid !== 'resume';
    idle.hidden = !!valid;
    idle.textContent = S.status === 'ended' ? '竞价已结束，无需控制。' : '竞价开始后可暂停。';
    // Another reviewer acted, or the auction ended, while this dialog was open.
    if (dialog.open && !busy && action.value !== valid) {
      dialog.close();
      say(valid ? '竞价状态已变化，请按当前状态重新操作。' : '竞价已结束，无需控制。', 'info');
    }
  }

  function say(text, kind) {
    note.textContent = text;
    note.className = 'message ' + (kind || '');
  }

  function fail(text) {
    error.textContent = text;
    error.hidden = false;
    reason.setAttribute('aria-invalid', 'true');
  }

  function open(kind) {
    var t = TEXT[kind];
    action.value = kind;
    $('ctl-dialog-h').textContent = t.title;
    $('ctl-dialog-text').textContent = t.text;
    ok.textContent = t.ok;
    reason.value = '';
    reason.removeAttribute('aria-invalid');
    error.hidden = true;
    say('');
    dialog.showModal();
    reason.focus();
  }

  Object.keys(buttons).forEach(function (kind) {
    buttons[kind].addEventListener('click', function () { open(kind); });
  });
  $('ctl-cancel').addEventListener('click', function () { dialog.close(); });
  dialog.addEventListener('close', function () {
    // Focus back where the reviewer was: the action now offered.
    var shown = buttons.pause.hidden ? buttons.resume : buttons.pause;
    (shown.hidden ? $('ctl-h') : shown).focus();
  });

  form.addEventListener('submit', function (ev) {
    ev.preventDefault();
    if (busy) return;
    var why = reason.value.trim();
    if (!why) { fail('请填写暂停或恢复的原因'); reason.focus(); return; }
    var kind = action.value;
    busy = true;
    ok.disabled = true;
    fetch('/api/v1/auctions/' + listingId + '/' + kind, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': RX.cookie('ruralx_csrf') },
      body: JSON.stringify({ reason: why })
    }).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (body) {
        busy = false;
        if (!r.ok) { fail(body.detail || '操作未成功，请重试'); return; }
        dialog.close();
        say(TEXT[kind].done + '（原因：' + why + '）', 'ok');
      });
    }).catch(function () {
      busy = false;
      fail('网络连接失败，请重试');
    }).then(function () { ok.disabled = false; });
  });

  live.onRender(follow);
})();
