// Parley dashboard behaviour: CSRF header on htmx requests, local times,
// theme toggle, bulk selection, Enter-to-send, and Test Chat streaming.
// No inline scripts anywhere (the Content-Security-Policy forbids them).
(function () {
  "use strict";
  var root = document.documentElement;
  try {
    var saved = localStorage.getItem("parley-theme");
    if (saved === "light" || saved === "dark") root.setAttribute("data-theme", saved);
  } catch (e) { /* storage may be off */ }

  // The viewer's time zone, for date filters counted in their days.
  try {
    var tz = Intl.DateTimeFormat().resolvedOptions().timeZone;
    if (tz && document.cookie.indexOf("parley_tz=" + encodeURIComponent(tz)) < 0) {
      document.cookie = "parley_tz=" + encodeURIComponent(tz) + "; path=/; max-age=31536000; samesite=lax";
    }
  } catch (e) { /* no Intl time zone: UTC */ }

  function csrf() {
    var m = document.querySelector('meta[name="csrf-token"]');
    return m ? m.getAttribute("content") : "";
  }

  // Times: <time datetime> in the viewer's zone, full time on hover.
  var short = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
  var full = new Intl.DateTimeFormat(undefined, { dateStyle: "full", timeStyle: "long" });
  // Table cells (data-compact): the day and time this year, the date before.
  var thisYear = new Intl.DateTimeFormat(undefined, { month: "short", day: "numeric", hour: "numeric", minute: "2-digit" });
  var otherYear = new Intl.DateTimeFormat(undefined, { dateStyle: "medium" });
  function localTimes(scope) {
    (scope || document).querySelectorAll("time[datetime]").forEach(function (el) {
      if (el.dataset.local) return;
      var d = new Date(el.getAttribute("datetime"));
      if (isNaN(d)) return;
      var fmt = short;
      if (el.hasAttribute("data-compact")) fmt = d.getFullYear() === new Date().getFullYear() ? thisYear : otherYear;
      el.textContent = fmt.format(d);
      el.title = full.format(d);
      el.dataset.local = "1";
    });
  }

  function updateBulk(form) {
    if (!form) return;
    var any = form.querySelectorAll('input[name="id"]:checked').length > 0;
    var btn = form.querySelector("[data-bulk-delete]");
    if (btn) btn.disabled = !any;
  }

  document.addEventListener("htmx:configRequest", function (e) {
    e.detail.headers["X-CSRF-Token"] = csrf();
  });
  document.addEventListener("htmx:afterSwap", function (e) { localTimes(e.target); scrollTranscript(); tickWindows(); });
  document.addEventListener("htmx:load", function (e) { localTimes(e.target); });

  document.addEventListener("change", function (e) {
    var t = e.target;
    if (t.matches("[data-check-all]")) {
      var form = t.closest("form");
      form.querySelectorAll('input[name="id"]').forEach(function (c) { c.checked = t.checked; });
      updateBulk(form);
    } else if (t.matches('input[name="id"]')) {
      updateBulk(t.closest("form"));
    } else if (t.matches("[data-preset]")) {
      var r = document.querySelector("[data-range]");
      if (r) r.classList.toggle("hidden", t.value !== "custom");
    }
  });

  document.addEventListener("click", function (e) {
    var t = e.target.closest("[data-theme-toggle],[data-copy-button],[data-testchat-end]");
    if (!t) return;
    if (t.matches("[data-theme-toggle]")) {
      var dark = root.getAttribute("data-theme") === "dark" ||
        (!root.getAttribute("data-theme") && window.matchMedia("(prefers-color-scheme: dark)").matches);
      var next = dark ? "light" : "dark";
      root.setAttribute("data-theme", next);
      try { localStorage.setItem("parley-theme", next); } catch (err) { /* ignore */ }
    } else if (t.matches("[data-copy-button]")) {
      var code = t.parentElement.querySelector("[data-copy]");
      if (code && navigator.clipboard) navigator.clipboard.writeText(code.textContent).then(function () { t.textContent = "Copied"; });
    } else if (t.matches("[data-testchat-end]")) {
      endTestChat(t);
    }
  });

  // Enter sends, Shift+Enter breaks the line.
  document.addEventListener("keydown", function (e) {
    if (e.key !== "Enter" || e.shiftKey || e.isComposing) return;
    var ta = e.target;
    if (!ta.matches || !ta.matches(".composer textarea")) return;
    e.preventDefault();
    var form = ta.closest("form");
    if (form.requestSubmit) form.requestSubmit(); else form.submit();
  });

  function scrollTranscript() {
    var t = document.getElementById("transcript") || document.getElementById("testchat-log");
    if (t && !t.dataset.scrolled) { t.scrollTop = t.scrollHeight; t.dataset.scrolled = "1"; }
  }

  // Test Chat: post, then read the reply as it streams (SSE over fetch).
  document.addEventListener("submit", function (e) {
    var form = e.target;
    if (!form.matches("[data-testchat]")) return;
    e.preventDefault();
    sendTestChat(form);
  });

  function el(html) {
    var t = document.createElement("template");
    t.innerHTML = html.trim();
    return t.content.firstElementChild;
  }

  function append(log, node) {
    var empty = document.getElementById("testchat-empty");
    if (empty) empty.remove();
    log.appendChild(node);
    localTimes(node);
    log.scrollTop = log.scrollHeight;
  }

  function sendTestChat(form) {
    var log = document.getElementById("testchat-log");
    var ta = form.querySelector("textarea[name=content]");
    var errBox = form.querySelector("[data-testchat-error]");
    var stats = form.querySelector("[data-testchat-stats]");
    var btn = form.querySelector("button[type=submit]");
    if (!ta.value.trim()) return;
    var body = new FormData(form);
    var sel = document.getElementById("assistant-select");
    if (sel && !body.get("assistant_id")) body.set("assistant_id", sel.value);
    errBox.hidden = true;
    btn.disabled = true;
    var pending = el('<article class="msg msg-user" data-pending><div class="msg-body" dir="auto"></div></article>');
    pending.querySelector(".msg-body").textContent = ta.value;
    append(log, pending);
    ta.value = "";
    var reply = null, started = performance.now();
    fetch("/test-chat/send", { method: "POST", body: new URLSearchParams(body), credentials: "same-origin",
      headers: { "Accept": "text/event-stream", "X-CSRF-Token": csrf() } })
      .then(function (res) {
        if (!res.ok || !res.body) throw new Error("The server answered " + res.status + ".");
        var reader = res.body.getReader(), dec = new TextDecoder(), buf = "";
        function handle(ev, data) {
          var d = {};
          try { d = JSON.parse(data); } catch (err) { return; }
          if (ev === "conversation") {
            form.querySelector("input[name=conversation_id]").value = d.id;
            if (sel) sel.disabled = true;
            var end = document.querySelector("[data-testchat-end]");
            if (end) { end.dataset.id = d.id; end.disabled = false; }
            if (d.html) { var g = el('<div>' + d.html + '</div>'); while (g.firstElementChild) log.insertBefore(g.firstElementChild, pending); localTimes(log); }
          } else if (ev === "delta") {
            if (!reply) {
              reply = el('<article class="msg msg-assistant streaming" data-testid="streaming"><header class="msg-head"><span class="who">assistant</span></header><div class="msg-body" dir="auto"></div></article>');
              append(log, reply);
            }
            reply.querySelector(".msg-body").textContent += d.text;
            log.scrollTop = log.scrollHeight;
          } else if (ev === "user") {
            var u = el(d.html); pending.replaceWith(u); pending = u; localTimes(u);
          } else if (ev === "done") {
            if (d.html) { var m = el(d.html); if (reply) reply.replaceWith(m); else append(log, m); localTimes(m); }
            stats.textContent = "Last reply in " + Math.round(performance.now() - started) + " ms (tokens and cost under the reply).";
          } else if (ev === "failed") {
            if (pending && pending.hasAttribute("data-pending")) pending.remove();
            if (reply) reply.classList.remove("streaming");
            errBox.textContent = d.message; errBox.hidden = false;
          }
        }
        function pump() {
          return reader.read().then(function (r) {
            if (r.done) return;
            buf += dec.decode(r.value, { stream: true });
            var i;
            while ((i = buf.indexOf("\n\n")) >= 0) {
              var chunk = buf.slice(0, i); buf = buf.slice(i + 2);
              var ev = "message", data = [];
              chunk.split("\n").forEach(function (line) {
                if (line.indexOf("event: ") === 0) ev = line.slice(7);
                else if (line.indexOf("data: ") === 0) data.push(line.slice(6));
              });
              if (data.length) handle(ev, data.join("\n"));
            }
            return pump();
          });
        }
        return pump();
      })
      .catch(function (err) { errBox.textContent = err.message || "Sending failed."; errBox.hidden = false; })
      .finally(function () { btn.disabled = false; ta.focus(); });
  }

  function endTestChat(btn) {
    var id = btn.dataset.id;
    if (!id) return;
    btn.disabled = true;
    btn.textContent = "Ending…";
    fetch("/test-chat/" + encodeURIComponent(id) + "/end", { method: "POST", credentials: "same-origin",
      headers: { "X-CSRF-Token": csrf(), "HX-Request": "true" } })
      .then(function (res) { return res.text(); })
      .then(function (html) {
        var box = document.getElementById("testchat-end");
        box.innerHTML = html;
        if (window.htmx) window.htmx.process(box);
        localTimes(box);
        var form = document.getElementById("testchat-form");
        if (form) form.querySelectorAll("textarea,button").forEach(function (x) { x.disabled = true; });
      });
  }

  // WhatsApp's 24-hour window: count down from data-expires on the
  // viewer's clock; when it ends, or a customer message arrives while it
  // is closed, ask the server for the composer that fits (templates only
  // while closed).
  function leftText(ms) {
    var min = Math.floor(ms / 60000);
    if (min < 1) return "less than a minute left";
    if (min < 60) return min + " min left";
    return Math.floor(min / 60) + " h " + (min % 60) + " min left";
  }
  function windowChanged(el) {
    if (el.dataset.asked) return;
    el.dataset.asked = "1";
    var box = el.closest("#compose");
    if (box && window.htmx) window.htmx.trigger(box, "window-changed");
  }
  function tickWindows() {
    document.querySelectorAll('[data-testid="window-status"][data-window-state="open"][data-expires]').forEach(function (el) {
      var left = Date.parse(el.dataset.expires) - Date.now();
      var text = el.querySelector("[data-window-text]");
      if (isNaN(left) || !text) return;
      if (left > 0) { text.textContent = "Window open · " + leftText(left); return; }
      text.textContent = "Window closed — send a template";
      el.classList.remove("window-open"); el.classList.add("window-closed");
      windowChanged(el);
    });
  }
  setInterval(tickWindows, 15000);
  // Messages that can still change (delivery status, fee, reactions;
  // data-live names their conversation) are reloaded when the stream says
  // they changed. The listener lives on the stream itself, so no change
  // is lost while a message is being swapped; of several reloads of one
  // message, only the newest answer is shown.
  var asked = {}, shown = {}, rechecked = {};
  function reloadMessage(id) {
    var m = document.getElementById(id);
    if (!m || !m.dataset.live) return;
    var n = (asked[id] || 0) + 1;
    asked[id] = n;
    fetch("/conversations/" + encodeURIComponent(m.dataset.live) + "/messages/" + encodeURIComponent(id),
      { credentials: "same-origin", headers: { "HX-Request": "true" } })
      .then(function (res) { return res.ok ? res.text() : null; })
      .then(function (html) {
        var old = document.getElementById(id);
        if (!html || !old || n < (shown[id] || 0)) return;
        shown[id] = n;
        var node = el(html);
        old.replaceWith(node);
        localTimes(node);
        if (window.htmx) window.htmx.process(node);
      })
      .catch(function () { /* the next change or a reload shows it */ });
  }
  // A message that arrives in flight may have changed between the server
  // reading it and the page listening: it is read once more shortly after.
  document.addEventListener("htmx:afterSettle", function (e) {
    var t = e.target;
    if (!t.matches || !t.matches('[data-testid="message"][data-live]') || rechecked[t.id]) return;
    if (!t.querySelector(".delivery-pending, .delivery-sent")) return;
    rechecked[t.id] = true;
    setTimeout(function () { reloadMessage(t.id); }, 1500);
  });
  document.addEventListener("htmx:afterSettle", function (e) {
    // A customer message arrived (the tail loaded one), or the details
    // panel, refreshed, says the window is open (the customer reacted to
    // a message): a closed window has opened again.
    var closed = document.querySelector('[data-testid="window-status"][data-window-state="closed"]');
    var t = e.target, tr = document.getElementById("transcript");
    if (!closed || !t.matches) return;
    if ((tr && t.matches('[data-testid="message"][data-role="user"]') && tr.contains(t)) ||
        (t.id === "conv-side" && t.querySelector('[data-testid="wa-side"][data-window-state="open"]'))) windowChanged(closed);
  });

  // Parts of a page that follow the stream (data-live-on names the event)
  // are refreshed through one listener on the stream and found by id when
  // the refresh runs, so a refresh never lands on a part already replaced.
  // A burst refreshes at once, then at most once a second, and always once
  // more after its last event; a refresh still loading waits.
  function liveRefresh(id) {
    var timer = null, again = false;
    function fire() {
      var node = document.getElementById(id);
      if (node && node.classList.contains("htmx-request")) { timer = setTimeout(fire, 250); return; }
      again = false;
      if (node && window.htmx) window.htmx.trigger(node, "refresh");
      timer = setTimeout(function () { timer = null; if (again) fire(); }, 1000);
    }
    return function () { if (timer) again = true; else fire(); };
  }

  // Live updates resume where they left off: the server marks each
  // event's end with a "pos" message; a new connection that the htmx
  // extension opens after a failed one asks for what came after it.
  document.addEventListener("htmx:sseOpen", function (e) {
    var src = e.detail && e.detail.source;
    if (!src || src.parleyPos) return;
    src.parleyPos = true;
    document.querySelectorAll("[data-live-on]").forEach(function (node) {
      src.addEventListener(node.dataset.liveOn, liveRefresh(node.id));
    });
    src.addEventListener("message-updated", function (m) {
      try { reloadMessage(JSON.parse(m.data).message); } catch (err) { /* not ours */ }
    });
    src.addEventListener("pos", function (m) {
      if (m.lastEventId) document.body.setAttribute("sse-connect", "/events?after=" + encodeURIComponent(m.lastEventId));
    });
  });

  document.addEventListener("DOMContentLoaded", function () { localTimes(document); scrollTranscript(); tickWindows(); });
})();
