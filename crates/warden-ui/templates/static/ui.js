// Warden hosted pages: progressive enhancement only; every page works without it.
(function () {
  "use strict";
  // Copy buttons: <button data-copy="#id">.
  document.addEventListener("click", function (ev) {
    var btn = ev.target.closest("[data-copy]");
    if (!btn) return;
    var el = document.querySelector(btn.getAttribute("data-copy"));
    if (!el || !navigator.clipboard) return;
    navigator.clipboard.writeText(el.textContent.trim()).then(function () {
      var old = btn.textContent;
      btn.textContent = "Copied";
      setTimeout(function () { btn.textContent = old; }, 1500);
    });
  });
  // Passkeys: the WebAuthn ceremonies; the server checks everything.
  var meta = document.querySelector('meta[name="csrf-token"]');
  function b64uToBuf(s) {
    s = s.replace(/-/g, "+").replace(/_/g, "/");
    while (s.length % 4) s += "=";
    var bin = atob(s), out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out.buffer;
  }
  function bufToB64u(buf) {
    var bytes = new Uint8Array(buf), s = "";
    for (var i = 0; i < bytes.length; i++) s += String.fromCharCode(bytes[i]);
    return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }
  function postJSON(url, body) {
    return fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: { "content-type": "application/json", "x-csrf-token": meta ? meta.content : "" },
      body: JSON.stringify(body || {})
    }).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (j) {
        if (!r.ok) throw new Error(j.error || ("The request failed (" + r.status + ")."));
        return j;
      });
    });
  }
  function publicKey(options, create) {
    var pk = options.publicKey;
    pk.challenge = b64uToBuf(pk.challenge);
    if (create) {
      pk.user.id = b64uToBuf(pk.user.id);
      (pk.excludeCredentials || []).forEach(function (c) { c.id = b64uToBuf(c.id); });
    } else {
      (pk.allowCredentials || []).forEach(function (c) { c.id = b64uToBuf(c.id); });
    }
    return { publicKey: pk };
  }
  function credentialJSON(c) {
    var r = c.response, out = {
      id: c.id, rawId: bufToB64u(c.rawId), type: c.type,
      authenticatorAttachment: c.authenticatorAttachment || null,
      extensions: c.getClientExtensionResults ? c.getClientExtensionResults() : {},
      response: { clientDataJSON: bufToB64u(r.clientDataJSON) }
    };
    if (r.attestationObject) {
      out.response.attestationObject = bufToB64u(r.attestationObject);
      if (r.getTransports) out.response.transports = r.getTransports();
    }
    if (r.authenticatorData) {
      out.response.authenticatorData = bufToB64u(r.authenticatorData);
      out.response.signature = bufToB64u(r.signature);
      out.response.userHandle = r.userHandle ? bufToB64u(r.userHandle) : null;
    }
    return out;
  }
  function showError(e) {
    var box = document.getElementById("passkey-error");
    if (!box) return;
    var text = e && e.name === "NotAllowedError"
      ? "The passkey prompt was closed or timed out. Try again."
      : (e && e.message) || "Something went wrong. Try again.";
    box.textContent = text;
    box.hidden = false;
  }
  function ceremony(btn, create, extra) {
    btn.disabled = true;
    var box = document.getElementById("passkey-error");
    if (box) box.hidden = true;
    var begin;
    postJSON(btn.getAttribute("data-begin"), extra())
      .then(function (b) {
        begin = b;
        var opts = publicKey(b.options, create);
        return create ? navigator.credentials.create(opts) : navigator.credentials.get(opts);
      })
      .then(function (cred) {
        var body = extra();
        body.challenge_id = begin.challenge_id;
        body.credential = credentialJSON(cred);
        return postJSON(btn.getAttribute("data-finish"), body);
      })
      .then(function (done) { window.location.assign(done.redirect); })
      .catch(function (e) { showError(e); btn.disabled = false; });
  }
  var supported = !!(window.PublicKeyCredential && navigator.credentials);
  var signIn = document.getElementById("passkey-sign-in");
  if (signIn && supported) {
    signIn.hidden = false;
    signIn.addEventListener("click", function () {
      ceremony(signIn, false, function () {
        var remember = document.getElementById("remember");
        var to = document.querySelector('input[name="redirect_to"]');
        return { remember: !!(remember && remember.checked), redirect_to: to ? to.value : null };
      });
    });
  }
  var add = document.getElementById("passkey-add");
  if (add && supported) {
    add.hidden = false;
    var note = document.getElementById("passkey-unsupported");
    if (note) note.hidden = true;
    add.addEventListener("click", function () {
      ceremony(add, true, function () {
        var name = document.getElementById("passkey-name");
        return { name: name ? name.value : null };
      });
    });
  }
})();
