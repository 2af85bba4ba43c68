/* Parley web widget loader: draws the launcher and loads the panel only when it is opened. */
(function () {
  "use strict";
  if (window.Parley && window.Parley.loaded) return;
  var script = document.currentScript;
  if (!script || !script.src) return;
  var key = script.getAttribute("data-assistant") || "";
  var base = script.src.replace(/\/widget\.js(\?.*)?$/, "");
  var T = {
    en: { open: "Open chat", close: "Close chat", unread: "unread messages", send: "Send", mic: "Speak", speak: "Read replies aloud", start: "Start chat", required: "This field is required", email: "Enter a valid email address", phone: "Enter a phone number with country code", typing: "Typing…", error: "Something went wrong.", retry: "Retry", offline: "You are offline. Messages will be sent when you are back.", ended: "This conversation has ended.", again: "Start a new conversation", noreply: "The assistant could not reply. Try again.", refused: "The chat is not available on this site.", you: "You", agent: "Agent", assistant: "Assistant", limited: "Too many messages. Wait a moment.", stop: "Stop recording", cancel: "Cancel", recording: "Recording", transcribing: "Transcribing…", notheard: "The recording could not be understood. Try again or type your message.", nomic: "The microphone is not available.", toolong: "The recording is too long.", mute: "Stop reading replies aloud" },
    de: { open: "Chat öffnen", close: "Chat schließen", unread: "ungelesene Nachrichten", send: "Senden", mic: "Sprechen", speak: "Antworten vorlesen", start: "Chat starten", required: "Dieses Feld ist erforderlich", email: "Gültige E-Mail-Adresse eingeben", phone: "Telefonnummer mit Ländervorwahl eingeben", typing: "Schreibt…", error: "Etwas ist schiefgelaufen.", retry: "Erneut versuchen", offline: "Sie sind offline. Nachrichten werden gesendet, sobald Sie wieder online sind.", ended: "Dieses Gespräch ist beendet.", again: "Neues Gespräch beginnen", noreply: "Der Assistent konnte nicht antworten. Bitte erneut versuchen.", refused: "Der Chat ist auf dieser Website nicht verfügbar.", you: "Sie", agent: "Mitarbeiter", assistant: "Assistent", limited: "Zu viele Nachrichten. Bitte kurz warten.", stop: "Aufnahme beenden", cancel: "Abbrechen", recording: "Aufnahme", transcribing: "Wird umgewandelt…", notheard: "Die Aufnahme war nicht verständlich. Bitte erneut versuchen oder tippen.", nomic: "Das Mikrofon ist nicht verfügbar.", toolong: "Die Aufnahme ist zu lang.", mute: "Antworten nicht mehr vorlesen" },
    fr: { open: "Ouvrir le chat", close: "Fermer le chat", unread: "messages non lus", send: "Envoyer", mic: "Parler", speak: "Lire les réponses", start: "Démarrer", required: "Ce champ est obligatoire", email: "Saisissez une adresse e-mail valide", phone: "Saisissez un numéro avec l’indicatif du pays", typing: "Écrit…", error: "Un problème est survenu.", retry: "Réessayer", offline: "Vous êtes hors ligne. Les messages partiront à votre retour.", ended: "Cette conversation est terminée.", again: "Nouvelle conversation", noreply: "L’assistant n’a pas pu répondre. Réessayez.", refused: "Le chat n’est pas disponible sur ce site.", you: "Vous", agent: "Conseiller", assistant: "Assistant", limited: "Trop de messages. Patientez un instant.", stop: "Arrêter l’enregistrement", cancel: "Annuler", recording: "Enregistrement", transcribing: "Transcription…", notheard: "L’enregistrement n’a pas été compris. Réessayez ou écrivez votre message.", nomic: "Le micro n’est pas disponible.", toolong: "L’enregistrement est trop long.", mute: "Ne plus lire les réponses" },
    es: { open: "Abrir chat", close: "Cerrar chat", unread: "mensajes sin leer", send: "Enviar", mic: "Hablar", speak: "Leer respuestas en voz alta", start: "Iniciar chat", required: "Este campo es obligatorio", email: "Introduce un correo válido", phone: "Introduce un teléfono con prefijo internacional", typing: "Escribiendo…", error: "Algo salió mal.", retry: "Reintentar", offline: "Sin conexión. Los mensajes se enviarán al volver.", ended: "Esta conversación ha terminado.", again: "Iniciar otra conversación", noreply: "El asistente no pudo responder. Inténtalo de nuevo.", refused: "El chat no está disponible en este sitio.", you: "Tú", agent: "Agente", assistant: "Asistente", limited: "Demasiados mensajes. Espera un momento.", stop: "Detener grabación", cancel: "Cancelar", recording: "Grabando", transcribing: "Transcribiendo…", notheard: "No se entendió la grabación. Inténtalo de nuevo o escribe tu mensaje.", nomic: "El micrófono no está disponible.", toolong: "La grabación es demasiado larga.", mute: "Dejar de leer las respuestas" },
    ja: { open: "チャットを開く", close: "チャットを閉じる", unread: "件の未読メッセージ", send: "送信", mic: "話す", speak: "返信を読み上げる", start: "チャットを開始", required: "この項目は必須です", email: "有効なメールアドレスを入力してください", phone: "国番号付きの電話番号を入力してください", typing: "入力中…", error: "問題が発生しました。", retry: "再試行", offline: "オフラインです。復帰後に送信されます。", ended: "この会話は終了しました。", again: "新しい会話を始める", noreply: "アシスタントが返信できませんでした。もう一度お試しください。", refused: "このサイトではチャットを利用できません。", you: "あなた", agent: "担当者", assistant: "アシスタント", limited: "メッセージが多すぎます。少しお待ちください。", stop: "録音を停止", cancel: "キャンセル", recording: "録音中", transcribing: "文字起こし中…", notheard: "録音を認識できませんでした。もう一度試すか、入力してください。", nomic: "マイクを使用できません。", toolong: "録音が長すぎます。", mute: "読み上げを停止" }
  };
  var lang = ((script.getAttribute("data-lang") || document.documentElement.lang || navigator.language || "en") + "").slice(0, 2).toLowerCase();
  if (!T[lang]) lang = "en";
  var prefix = "parley:" + key + ":";
  var S = {
    key: key, base: base, api: base + "/widget/v1/" + encodeURIComponent(key), lang: lang, t: T[lang],
    identity: null, variables: {}, listeners: [], config: null, unread: 0,
    get: function (k) { try { return localStorage.getItem(prefix + k); } catch (e) { return null; } },
    set: function (k, v) { try { if (v == null) localStorage.removeItem(prefix + k); else localStorage.setItem(prefix + k, v); } catch (e) { /* storage off: no continuity */ } },
    emit: function (m) { S.listeners.forEach(function (fn) { try { fn(m); } catch (e) { /* the page's own error */ } }); }
  };
  var host = document.createElement("parley-widget");
  host.style.cssText = "all:initial!important;display:block!important;position:fixed!important;width:0!important;height:0!important;bottom:0!important;right:0!important;z-index:2147483647!important;visibility:visible!important;opacity:1!important";
  var root = host.attachShadow({ mode: "open" });
  S.host = host; S.root = root;
  var panel = null, loading = null, launcher = null, badge = null, wantOpen = false;

  function badgeText() {
    if (!badge) return;
    badge.textContent = S.unread > 9 ? "9+" : String(S.unread);
    badge.hidden = S.unread === 0;
    launcher.setAttribute("aria-label", S.unread ? S.config.widget.launcher_text + " (" + S.unread + " " + S.t.unread + ")" : S.t.open);
  }
  S.badge = function (n) { S.unread = n; badgeText(); };

  function drawLauncher(cfg) {
    var w = cfg.widget, side = w.position === "bottom-left" ? "left" : "right";
    var style = document.createElement("style");
    style.textContent = ":host{all:initial}*{box-sizing:border-box}" +
      ".launcher{all:initial;box-sizing:border-box;position:fixed;bottom:20px;" + side + ":20px;display:flex;align-items:center;gap:8px;height:52px;min-width:52px;padding:0 18px;border-radius:26px;border:0;cursor:pointer;background:" + w.color + ";color:#fff;font:600 15px/1 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;box-shadow:0 6px 24px rgba(0,0,0,.18);transition:transform .15s}" +
      ".launcher:hover{transform:translateY(-2px)}.launcher:focus-visible{outline:3px solid #111;outline-offset:3px}" +
      ".launcher svg{width:22px;height:22px;fill:currentColor}" +
      ".badge{position:absolute;top:-4px;" + (side === "left" ? "right" : "left") + ":-4px;min-width:20px;height:20px;padding:0 6px;border-radius:10px;background:#e11d48;color:#fff;font:700 12px/20px system-ui,sans-serif;text-align:center}" +
      ".badge[hidden],.launcher[hidden]{display:none}";
    root.appendChild(style);
    launcher = document.createElement("button");
    launcher.className = "launcher";
    launcher.type = "button";
    launcher.setAttribute("data-parley", "launcher");
    launcher.setAttribute("aria-haspopup", "dialog");
    launcher.setAttribute("aria-expanded", "false");
    launcher.innerHTML = '<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4H4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z"/></svg>';
    var label = document.createElement("span");
    label.textContent = w.launcher_text;
    launcher.appendChild(label);
    badge = document.createElement("span");
    badge.className = "badge";
    badge.setAttribute("aria-hidden", "true");
    launcher.appendChild(badge);
    badgeText();
    launcher.addEventListener("click", function () { api.open(); });
    root.appendChild(launcher);
    S.launcher = launcher;
  }

  function load() {
    if (loading) return loading;
    loading = new Promise(function (resolve, reject) {
      mount = function (factory) { panel = factory(S); resolve(panel); };
      var s = document.createElement("script");
      s.src = base + "/widget/assets/__PANEL__";
      s.async = true;
      s.onerror = function () { loading = null; reject(new Error("parley: the widget could not load")); };
      document.head.appendChild(s);
    });
    return loading;
  }
  var mount = null;

  var api = {
    loaded: true,
    open: function () {
      wantOpen = true;
      if (!S.config) return;
      load().then(function (p) { if (wantOpen) p.open(); }, function (e) { console.warn(e.message); });
    },
    close: function () { wantOpen = false; if (panel) panel.close(); },
    identify: function (id) {
      if (!id || typeof id !== "object") return;
      S.identity = { user_id: String(id.user_id || ""), user_hash: String(id.user_hash || ""), name: String(id.name || ""), email: String(id.email || ""), phone: String(id.phone || "") };
      if (panel) panel.identified();
    },
    setVariables: function (vars) {
      if (!vars || typeof vars !== "object") return;
      Object.keys(vars).forEach(function (k) { S.variables[k] = vars[k]; });
    },
    on: function (ev, fn) { if (ev === "message" && typeof fn === "function") S.listeners.push(fn); }
  };
  Object.defineProperty(api, "_mount", { value: function (f) { if (mount) mount(f); }, enumerable: false });
  window.Parley = api;

  function start() {
    (document.body || document.documentElement).appendChild(host);
    fetch(S.api + "/config", { credentials: "omit" }).then(function (r) {
      if (!r.ok) throw new Error("parley: the widget is not available here (" + r.status + ")");
      return r.json();
    }).then(function (cfg) {
      S.config = cfg;
      drawLauncher(cfg);
      // A returning visitor's conversation may get answers while closed.
      if (S.get("token") || wantOpen) load().then(function (p) { if (wantOpen) p.open(); else p.resume(); }, function () {});
    }).catch(function (e) { console.warn(e.message); });
  }
  if (document.body) start(); else document.addEventListener("DOMContentLoaded", start);
})();
