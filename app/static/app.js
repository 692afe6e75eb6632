/* Shared helpers of the ruralx pages: money in figures and in 大写, countdowns, small API forms.
   Plain JavaScript, no build step. Every page works without it; it only adds conveniences. */
(function () {
  'use strict';

  var DIGITS = '零壹贰叁肆伍陆柒捌玖';
  var SMALL = ['', '拾', '佰', '仟'];
  var BIG = ['', '万', '亿', '万亿'];

  /* Same rules as core.money.yuan_in_words (tested against it in the browser tests). */
  function section(n) {
    var out = [], zero = false;
    for (var p = 3; p >= 0; p--) {
      var d = Math.floor(n / Math.pow(10, p)) % 10;
      if (d === 0) { zero = out.length > 0; continue; }
      if (zero) { out.push('零'); zero = false; }
      out.push(DIGITS[d] + SMALL[p]);
    }
    return out.join('');
  }

  function yuanWords(yuan) {
    var sections = [];
    while (yuan) { sections.push(yuan % 10000); yuan = Math.floor(yuan / 10000); }
    var parts = [], skipped = false;
    for (var i = sections.length - 1; i >= 0; i--) {
      var s = sections[i];
      if (s === 0) { skipped = parts.length > 0; continue; }
      if (parts.length && (skipped || s < 1000)) parts.push('零');
      skipped = false;
      parts.push(section(s) + BIG[i]);
    }
    return parts.join('');
  }

  function inWords(fen) {
    if (fen < 0) return '负' + inWords(-fen);
    var yuan = Math.floor(fen / 100), cents = fen % 100;
    var jiao = Math.floor(cents / 10), f = cents % 10;
    if (yuan === 0 && cents === 0) return '零元整';
    var out = yuan ? yuanWords(yuan) + '元' : '';
    if (cents === 0) return out + '整';
    if (yuan && (jiao === 0 || yuan % 10 === 0)) out += '零';
    if (jiao) out += DIGITS[jiao] + '角';
    if (f) out += DIGITS[f] + '分';
    return out;
  }

  function yuan(fen) {
    var sign = fen < 0 ? '-' : '';
    fen = Math.abs(fen);
    var whole = String(Math.floor(fen / 100)).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
    var cents = String(fen % 100);
    return sign + '¥' + whole + '.' + (cents.length < 2 ? '0' + cents : cents);
  }

  function pad(n) { return n < 10 ? '0' + n : String(n); }

  function clock(ms) {
    var s = Math.max(0, Math.ceil(ms / 1000));
    var h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = s % 60;
    return (h ? h + ':' + pad(m) : pad(m)) + ':' + pad(sec);
  }

  function longDuration(ms) {
    var s = Math.max(0, Math.floor(ms / 1000));
    var d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600);
    var m = Math.floor((s % 3600) / 60), sec = s % 60;
    if (d) return d + ' 天 ' + h + ' 小时 ' + m + ' 分';
    if (h) return h + ' 小时 ' + m + ' 分 ' + sec + ' 秒';
    return m + ' 分 ' + sec + ' 秒';
  }

  function beijingTime(iso) {
    var d = new Date(Date.parse(iso) + 8 * 3600 * 1000);
    return pad(d.getUTCHours()) + ':' + pad(d.getUTCMinutes()) + ':' + pad(d.getUTCSeconds());
  }

  function cookie(name) {
    var m = document.cookie.match(new RegExp('(?:^|; )' + name + '=([^;]*)'));
    return m ? decodeURIComponent(m[1]) : '';
  }

  window.RX = { inWords: inWords, yuan: yuan, clock: clock, beijingTime: beijingTime,
                longDuration: longDuration, cookie: cookie };

  /* Countdowns to a deadline, e.g. registration close; offset from the page's server time. */
  function startCountdowns() {
    var nodes = document.querySelectorAll('[data-deadline]');
    if (!nodes.length) return;
    function tick() {
      nodes.forEach(function (el) {
        if (!el._offset) el._offset = Date.parse(el.dataset.serverTime) - Date.now();
        var left = Date.parse(el.dataset.deadline) - (Date.now() + el._offset);
        el.textContent = left > 0 ? el.dataset.prefix + longDuration(left) + (el.dataset.suffix || '') : el.dataset.done;
      });
    }
    tick();
    setInterval(tick, 1000);
  }

  /* A table wider than the screen scrolls sideways in its .table-wrap: where it does, the
     wrapper takes focus (arrow keys scroll it) and is named after the table's caption or the
     heading above it, so keyboard and screen reader users reach the hidden columns too
     (WCAG 2.1.1). Where it fits, it is no stop on the way through the page. */
  function scrollableTables() {
    var wraps = document.querySelectorAll('.table-wrap');
    if (!wraps.length) return;
    function nameOf(wrap) {
      var caption = wrap.querySelector('caption');
      var el = wrap, heading = null;
      while (!caption && !heading && el && el !== document.body) {
        var prev = el.previousElementSibling;
        while (prev && !/^H[1-6]$/.test(prev.tagName)) prev = prev.previousElementSibling;
        if (prev) heading = prev; else el = el.parentElement;
      }
      var text = (caption || heading || { textContent: '表格' }).textContent.replace(/\s+/g, ' ').trim();
      return text + '（可左右滚动）';
    }
    function mark() {
      wraps.forEach(function (wrap) {
        if (wrap.scrollWidth > wrap.clientWidth + 1) {
          wrap.tabIndex = 0;
          wrap.setAttribute('role', 'region');
          wrap.setAttribute('aria-label', nameOf(wrap));
        } else if (wrap.hasAttribute('tabindex')) {
          wrap.removeAttribute('tabindex');
          wrap.removeAttribute('role');
          wrap.removeAttribute('aria-label');
        }
      });
    }
    mark();
    // Again when a wrapper or its table changes size (a turned phone, rows the live page adds).
    var pending = 0;
    function soon() { clearTimeout(pending); pending = setTimeout(mark, 150); }
    if (!window.ResizeObserver) { window.addEventListener('resize', soon); return; }
    var observer = new ResizeObserver(soon);
    wraps.forEach(function (wrap) {
      observer.observe(wrap);
      if (wrap.firstElementChild) observer.observe(wrap.firstElementChild);
    });
  }

  /* Amount inputs: show the amount in 大写 under the field while typing. */
  function amountWords() {
    document.querySelectorAll('input[data-money]').forEach(function (input) {
      var out = document.getElementById(input.dataset.money);
      if (!out) return;
      function show() {
        var v = input.value.replace(/[¥￥,\s]/g, '');
        if (!/^\d{1,11}(\.\d{1,2})?$/.test(v)) { out.textContent = ''; return; }
        var parts = v.split('.');
        var fen = Number(parts[0]) * 100 + Number(((parts[1] || '') + '00').slice(0, 2));
        out.textContent = yuan(fen) + '（' + inWords(fen) + '）';
      }
      input.addEventListener('input', show);
      show();
    });
  }

  /* Forms that call a JSON API with the session's CSRF header (e.g. contract signing). */
  function apiForms() {
    document.querySelectorAll('form[data-api]').forEach(function (form) {
      form.addEventListener('submit', function (ev) {
        ev.preventDefault();
        var out = form.querySelector('.api-result');
        var body = {};
        new FormData(form).forEach(function (v, k) { body[k] = v; });
        fetch(form.dataset.api, {
          method: 'POST', credentials: 'same-origin',
          headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': cookie('ruralx_csrf') },
          body: JSON.stringify(body)
        }).then(function (r) {
          return r.json().catch(function () { return {}; }).then(function (data) {
            if (r.ok) { out.textContent = form.dataset.done || '已完成'; out.className = 'api-result ok'; setTimeout(function () { location.reload(); }, 800); }
            else { out.textContent = data.detail || '操作失败'; out.className = 'api-result error'; }
          });
        }).catch(function () { out.textContent = '网络连接失败，请重试'; out.className = 'api-result error'; });
      });
    });
  }

  /* Buttons that ask before submitting their form (data-confirm="…"). */
  function confirmButtons() {
    document.addEventListener('click', function (ev) {
      var el = ev.target.closest('[data-confirm]');
      if (el && !window.confirm(el.dataset.confirm)) ev.preventDefault();
    });
  }

  document.addEventListener('DOMContentLoaded', function () {
    startCountdowns();
    scrollableTables();
    amountWords();
    apiForms();
    confirmButtons();
  });
})();
