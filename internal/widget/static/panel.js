/* Parley web widget panel, loaded by /widget.js when the visitor opens it. All text is put in the page as text nodes: nothing a visitor, a model or an operator writes is parsed as HTML. */
(function () {
  "use strict";
  window.Parley._mount(function (S) {
    var t = S.t, cfg = S.config, w = cfg.widget, root = S.root;
    var token = S.get("token"), visitor = S.get("visitor");
    var seen = {}, sending = false, held = [], lastEvent = S.get("event"), stream = null, opened = false, ended = false, speakOn = false, retryFn = null;

    function el(tag, attrs, kids) {
      var n = document.createElement(tag);
      if (attrs) Object.keys(attrs).forEach(function (k) {
        if (k === "text") n.textContent = attrs[k]; else if (k === "class") n.className = attrs[k]; else n.setAttribute(k, attrs[k]);
      });
      (kids || []).forEach(function (k) { if (k) n.appendChild(k); });
      return n;
    }
    var side = w.position === "bottom-left" ? "left" : "right", c = w.color;
    var css = el("style", { text:
      ".panel{all:initial;box-sizing:border-box;position:fixed;bottom:86px;" + side + ":20px;width:380px;height:min(620px,calc(100vh - 110px));display:flex;flex-direction:column;background:#fff;color:#1f2937;border-radius:16px;box-shadow:0 12px 48px rgba(0,0,0,.22);overflow:hidden;font:15px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif}" +
      ".panel[hidden]{display:none}.panel *{box-sizing:border-box;font:inherit}" +
      ".head{display:flex;align-items:center;gap:10px;padding:14px 16px;background:" + c + ";color:#fff}" +
      ".head img{width:34px;height:34px;border-radius:50%;object-fit:cover;background:#fff}" +
      ".head h2{flex:1;margin:0;font-weight:650;font-size:16px}" +
      ".x{all:unset;cursor:pointer;width:32px;height:32px;border-radius:8px;display:grid;place-items:center;font-size:22px;line-height:1;color:#fff}.x:hover{background:rgba(255,255,255,.18)}.x:focus-visible{outline:2px solid #fff}" +
      ".log{flex:1;overflow-y:auto;padding:16px;display:flex;flex-direction:column;gap:10px;background:#f8fafc}" +
      ".msg{max-width:82%;padding:9px 13px;border-radius:14px;white-space:normal;overflow-wrap:anywhere}" +
      ".msg p{margin:0 0 6px}.msg p:last-child{margin:0}.msg ul,.msg ol{margin:4px 0;padding-left:20px}" +
      ".msg code{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:13px;background:rgba(0,0,0,.06);padding:1px 4px;border-radius:4px}" +
      ".msg pre{margin:6px 0;padding:8px;background:#0f172a;color:#e2e8f0;border-radius:8px;overflow-x:auto}.msg pre code{background:none;padding:0;color:inherit}" +
      ".msg a{color:inherit;text-decoration:underline}.msg strong{font-weight:700}.msg em{font-style:italic}" +
      ".msg[data-role=user]{align-self:flex-end;background:" + c + ";color:#fff;border-bottom-right-radius:4px}" +
      ".msg[data-role=assistant],.msg[data-role=operator]{align-self:flex-start;background:#fff;border:1px solid #e5e7eb;border-bottom-left-radius:4px}" +
      ".msg[data-role=operator]{border-color:" + c + "}.who{display:block;font-size:12px;font-weight:600;color:" + c + ";margin-bottom:2px}" +
      ".pending{opacity:.6}.typing{align-self:flex-start;color:#6b7280;font-size:13px;padding:4px 2px}.typing[hidden]{display:none}" +
      ".note{align-self:center;text-align:center;font-size:13px;color:#6b7280;padding:6px 10px}" +
      ".bar{padding:8px 14px;font-size:13px;display:flex;gap:8px;align-items:center;justify-content:space-between}.bar[hidden]{display:none}" +
      ".err{background:#fef2f2;color:#991b1b}.off{background:#fffbeb;color:#92400e}" +
      ".recbar{background:#fff1f2;color:#9f1239;font-weight:600}.recbar .time{margin-left:8px;font-variant-numeric:tabular-nums;font-weight:400}" +
      ".dot{display:inline-block;width:10px;height:10px;margin-right:8px;border-radius:50%;background:#e11d48;animation:pulse 1s infinite alternate}.dot[hidden]{display:none}@keyframes pulse{to{opacity:.3}}" +
      "@media (prefers-reduced-motion:reduce){.dot{animation:none}}.x[hidden],.link[hidden]{display:none}.x[aria-pressed=true]{background:rgba(255,255,255,.28)}" +
      ".link{all:unset;cursor:pointer;text-decoration:underline;font-weight:600}.link:focus-visible{outline:2px solid currentColor}" +
      ".foot{display:flex;gap:8px;align-items:flex-end;padding:10px 12px;border-top:1px solid #e5e7eb;background:#fff}" +
      "textarea{flex:1;resize:none;max-height:120px;min-height:40px;padding:9px 12px;border:1px solid #d1d5db;border-radius:10px;outline:none;background:#fff;color:#111}textarea:focus{border-color:" + c + ";box-shadow:0 0 0 3px " + c + "33}" +
      ".btn{all:unset;cursor:pointer;height:40px;min-width:40px;padding:0 12px;border-radius:10px;display:grid;place-items:center;background:" + c + ";color:#fff;font-weight:600}.btn:disabled{opacity:.5;cursor:default}.btn:focus-visible{outline:3px solid #111;outline-offset:2px}" +
      ".mic{background:#eef2ff;color:" + c + "}.mic[aria-pressed=true]{background:#e11d48;color:#fff}.mic[hidden]{display:none}" +
      "form{flex:1;overflow-y:auto;padding:18px;display:flex;flex-direction:column;gap:12px;background:#f8fafc}form[hidden],.log[hidden],.foot[hidden]{display:none}" +
      "label{display:flex;flex-direction:column;gap:4px;font-size:14px;font-weight:600;color:#374151}" +
      "input,select,form textarea{font-weight:400;padding:9px 11px;border:1px solid #d1d5db;border-radius:10px;background:#fff;color:#111;outline:none}input:focus,select:focus{border-color:" + c + ";box-shadow:0 0 0 3px " + c + "33}" +
      ".ferr{color:#b91c1c;font-size:12px;font-weight:400}.ferr:empty{display:none}[aria-invalid=true]{border-color:#b91c1c}" +
      ".sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}" +
      "@media (max-width:480px){.panel{inset:0;width:100%;height:100%;border-radius:0;bottom:0}}" });
    root.appendChild(css);

    var title = el("h2", { text: w.title, id: "parley-title" });
    var avatar = w.avatar_url ? el("img", { src: w.avatar_url, alt: "" }) : null;
    var closeBtn = el("button", { class: "x", type: "button", "aria-label": t.close, text: "×" });
    var speaker = el("button", { class: "x", type: "button", "data-parley": "speaker", "aria-label": t.speak, "aria-pressed": "false", hidden: "" });
    speaker.innerHTML = '<svg viewBox="0 0 24 24" width="20" height="20" aria-hidden="true"><path fill="currentColor" d="M4 9v6h4l5 4V5L8 9H4zm12.5 3a4.5 4.5 0 0 0-2.5-4v8a4.5 4.5 0 0 0 2.5-4zM14 3.2v2.1a7 7 0 0 1 0 13.4v2.1a9 9 0 0 0 0-17.6z"/></svg>';
    var recDot = el("span", { class: "dot", "aria-hidden": "true" }), recLabel = el("span"), recTime = el("span", { class: "time" });
    var recCancel = el("button", { class: "link", type: "button", "data-parley": "record-cancel", text: t.cancel });
    var recBar = el("div", { class: "bar recbar", role: "status", "data-parley": "recording", hidden: "" }, [el("span", null, [recDot, recLabel, recTime]), recCancel]);
    var log = el("div", { class: "log", role: "log", "aria-live": "polite", "aria-relevant": "additions", "aria-labelledby": "parley-title" });
    var typing = el("div", { class: "typing", text: t.typing, hidden: "" });
    var errText = el("span"), retryBtn = el("button", { class: "link", type: "button", text: t.retry });
    var errBar = el("div", { class: "bar err", role: "alert", hidden: "" }, [errText, retryBtn]);
    var offBar = el("div", { class: "bar off", role: "status", hidden: "" }, [el("span", { text: t.offline })]);
    var input = el("textarea", { "data-parley": "input", rows: "1", placeholder: w.placeholder, "aria-label": w.placeholder, maxlength: "4096" });
    var mic = el("button", { class: "btn mic", type: "button", "data-parley": "mic", "aria-label": t.mic, "aria-pressed": "false", hidden: "" });
    mic.innerHTML = '<svg viewBox="0 0 24 24" width="20" height="20" aria-hidden="true"><path fill="currentColor" d="M12 14a3 3 0 0 0 3-3V5a3 3 0 0 0-6 0v6a3 3 0 0 0 3 3zm5-3a5 5 0 0 1-10 0H5a7 7 0 0 0 6 6.9V21h2v-3.1A7 7 0 0 0 19 11z"/></svg>';
    var send = el("button", { class: "btn", type: "button", "data-parley": "send", "aria-label": t.send });
    send.innerHTML = '<svg viewBox="0 0 24 24" width="20" height="20" aria-hidden="true"><path fill="currentColor" d="M3 20l18-8L3 4v6l12 2-12 2z"/></svg>';
    var foot = el("div", { class: "foot" }, [input, mic, send]);
    var form = el("form", { "data-parley": "prechat-form", novalidate: "", hidden: "" });
    var panel = el("div", { class: "panel", "data-parley": "panel", role: "dialog", "aria-modal": "true", "aria-labelledby": "parley-title", lang: S.lang, hidden: "" },
      [el("div", { class: "head" }, [avatar, title, speaker, closeBtn]), form, log, errBar, offBar, recBar, foot]);
    log.appendChild(typing);
    root.appendChild(panel);

    /* Safe Markdown: paragraphs, lists, code blocks, inline code, bold, italics and http(s)/mailto links, built as nodes. */
    function inline(parent, text) {
      var re = /(`[^`\n]+`)|(\*\*[^*\n]+\*\*)|(\*[^*\n]+\*)|(\[[^\]\n]+\]\((?:https?:\/\/|mailto:)[^)\s]+\))|(https?:\/\/[^\s<>()]+[^\s<>().,;:!?'"])/g, last = 0, m;
      while ((m = re.exec(text))) {
        if (m.index > last) parent.appendChild(document.createTextNode(text.slice(last, m.index)));
        var s = m[0];
        if (m[1]) parent.appendChild(el("code", { text: s.slice(1, -1) }));
        else if (m[2]) parent.appendChild(el("strong", { text: s.slice(2, -2) }));
        else if (m[3]) parent.appendChild(el("em", { text: s.slice(1, -1) }));
        else {
          var label = s, href = s;
          if (m[4]) { var i = s.indexOf("]("); label = s.slice(1, i); href = s.slice(i + 2, -1); }
          parent.appendChild(el("a", { href: href, target: "_blank", rel: "noopener noreferrer nofollow", text: label }));
        }
        last = m.index + s.length;
      }
      if (last < text.length) parent.appendChild(document.createTextNode(text.slice(last)));
    }
    function markdown(target, src) {
      var lines = src.replace(/\r\n?/g, "\n").split("\n"), i = 0, para = [];
      function flush() { if (para.length) { var p = el("p"); inline(p, para.join(" ")); target.appendChild(p); para = []; } }
      while (i < lines.length) {
        var ln = lines[i];
        if (/^```/.test(ln)) {
          flush(); var code = []; i++;
          while (i < lines.length && !/^```/.test(lines[i])) code.push(lines[i++]);
          i++; target.appendChild(el("pre", null, [el("code", { text: code.join("\n") })])); continue;
        }
        var ul = /^\s*[-*+]\s+(.*)$/.exec(ln), ol = /^\s*\d+[.)]\s+(.*)$/.exec(ln);
        if (ul || ol) {
          flush(); var list = el(ul ? "ul" : "ol");
          while (i < lines.length) {
            var mm = ul ? /^\s*[-*+]\s+(.*)$/.exec(lines[i]) : /^\s*\d+[.)]\s+(.*)$/.exec(lines[i]);
            if (!mm) break;
            var li = el("li"); inline(li, mm[1]); list.appendChild(li); i++;
          }
          target.appendChild(list); continue;
        }
        if (!ln.trim()) flush(); else para.push(ln.trim());
        i++;
      }
      flush();
    }

    function bubble(m) {
      var b = el("div", { class: "msg", "data-parley": "message", "data-role": m.role });
      if (m.role === "operator") b.appendChild(el("span", { class: "who", text: t.agent }));
      var body = el("div"); b.appendChild(body);
      if (m.role === "user") body.textContent = m.content; else markdown(body, m.content);
      if (m.id) { b.setAttribute("data-id", m.id); seen[m.id] = b; }
      log.insertBefore(b, typing);
      log.scrollTop = log.scrollHeight;
      return b;
    }
    function show(m, live) {
      if (!m || !m.id || seen[m.id] || m.role === "system") return;
      bubble(m);
      if (live) {
        S.emit(m);
        if (m.role !== "user") { if (!opened) S.badge(S.unread + 1); speak(m.content); }
      }
    }
    function note(text, action, fn) {
      var n = el("div", { class: "note" }, [el("span", { text: text })]);
      if (action) { var b = el("button", { class: "link", type: "button", text: action }); b.addEventListener("click", fn); n.appendChild(document.createTextNode(" ")); n.appendChild(b); }
      log.insertBefore(n, typing);
      log.scrollTop = log.scrollHeight;
    }
    function fail(text, retry) {
      errText.textContent = text; retryFn = retry || null; retryBtn.hidden = !retry; errBar.hidden = false;
    }
    retryBtn.addEventListener("click", function () { errBar.hidden = true; var f = retryFn; retryFn = null; if (f) f(); });

    function call(method, path, body, accept) {
      var h = { "Accept": accept || "application/json" };
      if (token) h.Authorization = "Bearer " + token;
      if (body) h["Content-Type"] = "application/json";
      return fetch(S.api + path, { method: method, headers: h, body: body ? JSON.stringify(body) : undefined, credentials: "omit", mode: "cors" });
    }
    function problem(r) { return r.json().catch(function () { return {}; }).then(function (p) { p.status = r.status; return Promise.reject(p); }); }

    function begin(s) {
      token = s.token || token; visitor = s.visitor_id || visitor;
      S.set("token", token); S.set("visitor", visitor);
      ended = s.conversation.status === "ended";
      form.hidden = true; log.hidden = false; foot.hidden = false;
      Array.prototype.slice.call(log.querySelectorAll(".msg,.note")).forEach(function (n) { n.remove(); });
      seen = {};
      (s.messages || []).forEach(function (m) { show(m, false); });
      if (ended) endedState(); else listen();
    }
    function endedState() {
      ended = true; stopStream();
      note(t.ended, t.again, function () { token = null; S.set("token", null); S.set("event", null); lastEvent = null; startOrForm(true); });
    }
    function startSession(prechat) {
      var body = { visitor_id: visitor || "", prechat: prechat || {}, variables: S.variables };
      if (S.identity) body.identity = S.identity;
      token = null;
      return call("POST", "/sessions", body).then(function (r) { return r.ok ? r.json() : problem(r); }).then(begin);
    }
    function startOrForm(fresh) {
      var hasForm = cfg.prechat_form && cfg.prechat_form.length > 0;
      if (hasForm && (fresh || !visitor) && !(S.identity && S.identity.user_hash)) { drawForm(); return Promise.resolve(); }
      return startSession({}).catch(function (p) {
        if (p.status === 422 && hasForm) { drawForm(); return; }
        if (p.status === 403) { fail(t.refused); return; }
        fail(t.error, function () { startOrForm(fresh); });
      });
    }
    function resume() {
      if (!token) return startOrForm(false);
      return call("GET", "/session").then(function (r) { return r.ok ? r.json() : problem(r); }).then(function (s) {
        if (s.conversation.status === "ended") { token = null; S.set("token", null); return startOrForm(true); }
        begin(s);
      }, function (p) {
        if (p.status === 401 || p.status === 404) { token = null; S.set("token", null); return startOrForm(false); }
        fail(t.error, resume);
      });
    }

    function drawForm() {
      form.textContent = ""; form.hidden = false; log.hidden = true; foot.hidden = true;
      var fields = [];
      cfg.prechat_form.forEach(function (f) {
        var id = "parley-f-" + f.name, ctl;
        if (f.type === "select") {
          ctl = el("select", { id: id, name: f.name });
          ctl.appendChild(el("option", { value: "", text: f.placeholder || "—" }));
          (f.options || []).forEach(function (o) { ctl.appendChild(el("option", { value: o, text: o })); });
        } else if (f.type === "textarea") ctl = el("textarea", { id: id, name: f.name, rows: "3", maxlength: "2000" });
        else ctl = el("input", { id: id, name: f.name, type: f.type === "phone" ? "tel" : f.type === "email" ? "email" : "text", maxlength: "200", autocomplete: f.type === "email" ? "email" : f.type === "phone" ? "tel" : f.name === "name" ? "name" : "off" });
        if (f.placeholder && f.type !== "select") ctl.setAttribute("placeholder", f.placeholder);
        if (f.required) ctl.setAttribute("aria-required", "true");
        var err = el("span", { class: "ferr", id: id + "-err", "aria-live": "polite" });
        ctl.setAttribute("aria-describedby", id + "-err");
        form.appendChild(el("label", { for: id }, [el("span", { text: f.label + (f.required ? " *" : "") }), ctl, err]));
        fields.push({ f: f, ctl: ctl, err: err });
      });
      var go = el("button", { class: "btn", type: "submit", text: t.start });
      form.appendChild(go);
      form.onsubmit = function (e) {
        e.preventDefault();
        var vals = {}, bad = null;
        fields.forEach(function (x) {
          var v = x.ctl.value.trim(), msg = "";
          if (!v && x.f.required) msg = t.required;
          else if (v && x.f.type === "email" && !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(v)) msg = t.email;
          else if (v && x.f.type === "phone" && !/^\+?[0-9 ().-]{7,20}$/.test(v)) msg = t.phone;
          x.err.textContent = msg; x.ctl.setAttribute("aria-invalid", msg ? "true" : "false");
          if (msg && !bad) bad = x.ctl;
          if (v) vals[x.f.name] = v;
        });
        if (bad) { bad.focus(); return; }
        go.disabled = true;
        startSession(vals).then(function () { input.focus(); }, function (p) {
          (p.errors || []).forEach(function (fe) {
            fields.forEach(function (x) { if ("prechat." + x.f.name === fe.field) { x.err.textContent = fe.message; x.ctl.setAttribute("aria-invalid", "true"); } });
          });
          if (!p.errors) fail(p.status === 403 ? t.refused : t.error);
        }).then(function () { go.disabled = false; });
      };
      var first = form.querySelector("input,select,textarea");
      if (first && opened) first.focus();
    }

    /* Server-sent events over fetch, so the token goes in a header, not the URL. */
    function sse(resp, on) {
      var reader = resp.body.getReader(), dec = new TextDecoder(), buf = "";
      function pump() {
        return reader.read().then(function (r) {
          if (r.done) return;
          buf += dec.decode(r.value, { stream: true });
          var i;
          while ((i = buf.indexOf("\n\n")) >= 0) {
            var block = buf.slice(0, i); buf = buf.slice(i + 2);
            var ev = { event: "message", data: "", id: null };
            block.split("\n").forEach(function (ln) {
              if (ln.indexOf("event: ") === 0) ev.event = ln.slice(7);
              else if (ln.indexOf("data: ") === 0) ev.data += ln.slice(6);
              else if (ln.indexOf("id: ") === 0) ev.id = ln.slice(4);
            });
            if (ev.data) { try { on(ev.event, JSON.parse(ev.data), ev.id); } catch (e) { /* a bad frame is skipped */ } }
          }
          return pump();
        });
      }
      return pump();
    }
    var backoff = 1000, gen = 0;
    function stopStream() { gen++; if (stream) { stream.abort(); stream = null; } }
    function listen() {
      stopStream();
      var my = gen, ctl = new AbortController(); stream = ctl;
      var h = { "Accept": "text/event-stream", "Authorization": "Bearer " + token };
      if (lastEvent) h["Last-Event-ID"] = lastEvent;
      fetch(S.api + "/session/events", { headers: h, signal: ctl.signal, credentials: "omit" }).then(function (r) {
        if (r.status === 401) { token = null; S.set("token", null); return "reauth"; }
        if (!r.ok) throw new Error(r.status);
        backoff = 1000;
        return sse(r, function (type, data, id) {
          if (id) { lastEvent = id; S.set("event", id); }
          if (type === "message") { if (sending && data.role !== "operator") held.push(data); else show(data, true); }
          else if (type === "ended") endedState();
        });
      }).then(function (x) {
        if (my !== gen || ended) return;
        if (x === "reauth") { startSession({}).catch(function () {}); return; }
        setTimeout(function () { if (my === gen) listen(); }, backoff);
      }, function () {
        if (my !== gen) return;
        backoff = Math.min(backoff * 2, 15000);
        setTimeout(function () { if (my === gen && navigator.onLine !== false) listen(); }, backoff);
      });
    }

    function post(text, pending) {
      sending = true; typing.hidden = false; send.disabled = true;
      var answer = null, body = null;
      return call("POST", "/session/messages", { content: text }, "text/event-stream").then(function (r) {
        if (r.status === 401) { return startSession({}).then(function () { sending = false; return post(text, pending); }); }
        if (!r.ok) return problem(r);
        return sse(r, function (type, data) {
          if (type === "delta") {
            if (!answer) { typing.hidden = true; answer = bubble({ role: "assistant", content: "" }); body = answer.firstChild; body.textContent = ""; }
            body.textContent += data.content; log.scrollTop = log.scrollHeight;
          } else if (type === "done") {
            pending.classList.remove("pending"); pending.setAttribute("data-id", data.message.id); seen[data.message.id] = pending;
            S.emit(data.message);
            if (data.reply) {
              if (!answer) answer = bubble({ role: "assistant", content: "" });
              answer.setAttribute("data-id", data.reply.id); seen[data.reply.id] = answer;
              answer.firstChild.textContent = ""; markdown(answer.firstChild, data.reply.content);
              S.emit(data.reply); speak(data.reply.content);
            } else if (data.reply_error) { if (answer) answer.remove(); note(t.noreply); }
          } else if (type === "error") { if (answer) answer.remove(); note(t.noreply); }
        });
      }).catch(function (p) {
        if (p && p.status === 409) { pending.remove(); endedState(); return; }
        if (p && p.status === 429) { fail(t.limited); input.value = text; pending.remove(); return; }
        if (answer) answer.remove();
        pending.remove();
        fail(navigator.onLine === false ? t.offline : t.error, function () { submit(text); });
      }).then(function () {
        sending = false; typing.hidden = true; send.disabled = false;
        var h = held; held = []; h.forEach(function (m) { show(m, true); });
      });
    }
    function submit(text) {
      text = (text || "").trim();
      if (!text || sending || ended) return;
      errBar.hidden = true;
      if (window.speechSynthesis) window.speechSynthesis.cancel();
      var pending = bubble({ role: "user", content: text }); pending.classList.add("pending");
      input.value = ""; input.style.height = "";
      post(text, pending);
    }
    send.addEventListener("click", function () { submit(input.value); input.focus(); });
    input.addEventListener("keydown", function (e) {
      if (e.key === "Enter" && !e.shiftKey && !e.isComposing) { e.preventDefault(); submit(input.value); }
    });
    input.addEventListener("input", function () {
      if (speakOn && window.speechSynthesis) window.speechSynthesis.cancel();
      input.style.height = ""; input.style.height = Math.min(input.scrollHeight, 120) + "px";
    });

    /* Voice: the browser's speech recognition for input where it has one; else, when the server transcribes, a recording sent to it. Speech synthesis reads replies aloud while the speaker toggle is on; typing stops it. */
    var Rec = window.SpeechRecognition || window.webkitSpeechRecognition, rec = null;
    var voice = w.mode === "voice_chat", synth = window.speechSynthesis;
    var md = navigator.mediaDevices, canRecord = !Rec && !!(cfg.voice && cfg.voice.transcription && window.MediaRecorder && md && md.getUserMedia);
    function speak(text) {
      if (!speakOn || !synth || !text) return;
      var u = new SpeechSynthesisUtterance(text.replace(/[*`#>_[\]()]/g, ""));
      u.lang = S.lang; synth.speak(u);
    }
    function speakState(on) {
      speakOn = on; if (!on && synth) synth.cancel();
      speaker.setAttribute("aria-pressed", on ? "true" : "false"); speaker.setAttribute("aria-label", on ? t.mute : t.speak);
    }
    if (voice && synth) {
      speaker.hidden = false;
      speaker.addEventListener("click", function () { speakState(!speakOn); });
    }
    function micState(on) { mic.setAttribute("aria-pressed", on ? "true" : "false"); mic.setAttribute("aria-label", on ? t.stop : t.mic); }
    function listenSpeech() {
      if (rec) { rec.stop(); return; }
      rec = new Rec(); rec.lang = S.lang; rec.interimResults = true;
      micState(true);
      rec.onresult = function (e) {
        var txt = ""; for (var i = 0; i < e.results.length; i++) txt += e.results[i][0].transcript;
        input.value = txt;
        if (e.results[e.results.length - 1].isFinal) submit(txt);
      };
      rec.onend = rec.onerror = function () { rec = null; micState(false); };
      rec.start();
    }
    /* Recording: press to start, again to send it for transcription; at most cfg.voice.max_seconds. */
    var recorder = null, recTimer = null, recStart = 0, recCancelled = false, maxRec = (cfg.voice && cfg.voice.max_seconds) || 60;
    function clock(n) { return Math.floor(n / 60) + ":" + ("0" + (n % 60)).slice(-2); }
    function recType() {
      var ts = ["audio/webm;codecs=opus", "audio/ogg;codecs=opus", "audio/mp4", "audio/webm", "audio/ogg"];
      for (var i = 0; i < ts.length; i++) if (MediaRecorder.isTypeSupported && MediaRecorder.isTypeSupported(ts[i])) return ts[i];
      return "";
    }
    function tick() {
      var n = Math.floor((Date.now() - recStart) / 1000);
      recTime.textContent = clock(Math.min(n, maxRec)) + " / " + clock(maxRec);
      if (n >= maxRec) stopRecording(false);
    }
    function record() {
      errBar.hidden = true;
      md.getUserMedia({ audio: true }).then(function (stream) {
        var type = recType(), chunks = [], opts = { audioBitsPerSecond: 32000 };
        if (type) opts.mimeType = type;
        recorder = new MediaRecorder(stream, opts); recCancelled = false;
        recorder.ondataavailable = function (e) { if (e.data && e.data.size) chunks.push(e.data); };
        recorder.onstop = function () {
          stream.getTracks().forEach(function (tr) { tr.stop(); });
          clearInterval(recTimer); recorder = null; micState(false);
          if (recCancelled || !chunks.length) { recBar.hidden = true; return; }
          transcribe(new Blob(chunks, { type: chunks[0].type || type || "audio/webm" }));
        };
        recorder.start(1000);
        recStart = Date.now(); micState(true);
        recLabel.textContent = t.recording; recCancel.hidden = false; recDot.hidden = false; recBar.hidden = false;
        tick(); recTimer = setInterval(tick, 250);
      }, function () { fail(t.nomic); });
    }
    function stopRecording(cancel) { if (!recorder) return; recCancelled = cancel; if (recorder.state !== "inactive") recorder.stop(); }
    recCancel.addEventListener("click", function () { stopRecording(true); mic.focus(); });
    function transcribe(blob) {
      recLabel.textContent = t.transcribing; recTime.textContent = ""; recCancel.hidden = true; recDot.hidden = true; mic.disabled = true;
      fetch(S.api + "/session/transcriptions?language=" + encodeURIComponent(S.lang), { method: "POST", body: blob, credentials: "omit", mode: "cors",
        headers: { "Authorization": "Bearer " + token, "Content-Type": blob.type, "Accept": "application/json" } })
        .then(function (r) { return r.ok ? r.json() : problem(r); })
        .then(function (res) {
          var txt = (res.text || "").trim();
          if (!txt) { fail(t.notheard); return; }
          /* Into the input, not sent: the visitor saw no words while speaking, so this is the first chance to catch a mishearing. */
          input.value = input.value.trim() ? input.value.trim() + " " + txt : txt;
          input.style.height = ""; input.style.height = Math.min(input.scrollHeight, 120) + "px";
          input.focus(); input.setSelectionRange(input.value.length, input.value.length);
        }, function (p) { fail(p.status === 413 ? t.toolong : p.status === 429 ? t.limited : p.status === 422 ? t.notheard : t.error); })
        .then(function () { recBar.hidden = true; mic.disabled = false; });
    }
    if (voice && (Rec || canRecord)) {
      mic.hidden = false;
      mic.addEventListener("click", function () {
        if (synth) speakState(true);
        if (Rec) listenSpeech(); else if (recorder) stopRecording(false); else record();
      });
    }

    function setOffline() { offBar.hidden = navigator.onLine !== false; if (!offBar.hidden) return; if (token && !ended) listen(); }
    window.addEventListener("online", setOffline); window.addEventListener("offline", setOffline);

    /* Keyboard: Escape closes, Tab stays inside the open panel. */
    panel.addEventListener("keydown", function (e) {
      if (e.key === "Escape") { close(); return; }
      if (e.key !== "Tab") return;
      var f = Array.prototype.filter.call(panel.querySelectorAll("button,input,select,textarea,a[href]"), function (n) { return !n.disabled && n.offsetParent !== null; });
      if (!f.length) return;
      var first = f[0], last = f[f.length - 1], a = root.activeElement;
      if (e.shiftKey && a === first) { e.preventDefault(); last.focus(); } else if (!e.shiftKey && a === last) { e.preventDefault(); first.focus(); }
    });
    closeBtn.addEventListener("click", function () { close(); });

    var started = false;
    function open() {
      opened = true; panel.hidden = false; S.badge(0);
      S.launcher.setAttribute("aria-expanded", "true");
      if (!started) { started = true; resume().then(function () { if (!form.hidden) { var f = form.querySelector("input,select,textarea"); if (f) f.focus(); } else input.focus(); }); }
      else if (!form.hidden) { var f = form.querySelector("input,select,textarea"); if (f) f.focus(); } else input.focus();
    }
    function close() {
      stopRecording(true); if (rec && rec.abort) rec.abort();
      opened = false; panel.hidden = true;
      S.launcher.setAttribute("aria-expanded", "false"); S.launcher.focus();
    }
    return {
      open: open, close: close,
      resume: function () { if (!started) { started = true; resume(); } },
      identified: function () { if (started && S.identity && S.identity.user_hash) { stopStream(); startSession({}).catch(function (p) { if (p.status === 422) drawForm(); }); } }
    };
  });
})();
