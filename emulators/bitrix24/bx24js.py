"""A small BX24.js served at ``/bitrix/js/rest/bx24.js`` (b24restdocs sdk/bx24-js-sdk).

Inside a portal frame (``/_emulator/open`` in ``portal_pages.py``) it talks to the parent page over
``postMessage`` like the real library and @bitrix24/b24jssdk do: the frame sends
``"<command>:<JSON params>:<callback id>:<APP_SID>"`` to ``PROTOCOL://DOMAIN`` (from the frame's
``window.name`` ``DOMAIN|PROTOCOL|APP_SID``, else the frame URL's query)
and the parent answers ``"<callback id>:<JSON>"``; ``BX24.init`` asks for ``getInitData``. Outside a frame
(an install page fetched by ``/_emulator/apps/<client_id>/install`` and opened by hand) it falls back to the
last install form the emulator posted to that app (``?client_id=`` picks the app), as before.
"""
from __future__ import annotations

import json
from typing import Any

from .state import PortalState

SHIM_PATH = "/bitrix/js/rest/bx24.js"
# BX24 used outside a frame (REST docs: sdk/bx24-js-sdk/system-functions/bx24-init.md)
OUTSIDE_FRAME = "Unable to initialize Bitrix24 JS library!"

SHIM = """(function (fallback) {
  "use strict";
  function fail() { throw new Error(%(outside)s); }
  var query = {};
  location.search.replace(/^\\?/, "").split("&").forEach(function (pair) {
    if (pair) { var parts = pair.split("="); query[decodeURIComponent(parts[0])] = decodeURIComponent(parts[1] || ""); }
  });
  var named = (window.name || "").split("|");  // the portal names the frame DOMAIN|PROTOCOL|APP_SID
  if (named.length === 3 && named[2]) { query.DOMAIN = named[0]; query.PROTOCOL = named[1]; query.APP_SID = named[2]; }
  var framed = window.parent !== window && !!query.APP_SID;
  var origin = (query.PROTOCOL === "1" ? "https://" : "http://") + query.DOMAIN;
  var state = null, callbacks = {}, sequence = 0;
  // PHP http_build_query keys: a[b][0]=x (REST docs: settings/how-to-call-rest-api/data-encoding.md)
  function encode(value, prefix, pairs) {
    if (value !== null && typeof value === "object") {
      Object.keys(value).forEach(function (key) {
        encode(value[key], prefix ? prefix + "[" + key + "]" : key, pairs);
      });
    } else {
      var text = value === true ? "1" : value === false || value === null || value === undefined ? "" : String(value);
      pairs.push(encodeURIComponent(prefix) + "=" + encodeURIComponent(text));
    }
    return pairs;
  }
  function post(url, body, type) {  // a CORS "simple" request: no preflight
    return fetch(url, {method: "POST", headers: {"Content-Type": type}, body: body});
  }
  function send(command, params, callback) {  // the parent window protocol (b24jssdk MessageManager)
    if (!framed) { fail(); }
    var id = "cb" + (++sequence) + "_" + Date.now();
    callbacks[id] = callback || function () {};
    var parts = [command];
    if (params !== null && params !== undefined) { parts.push(JSON.stringify(params)); }
    parts.push(id, query.APP_SID);
    window.parent.postMessage(parts.join(":"), origin);
  }
  window.addEventListener("message", function (event) {
    if (event.origin !== origin || typeof event.data !== "string") { return; }
    var at = event.data.indexOf(":");
    var id = at < 0 ? event.data : event.data.slice(0, at), args = at < 0 ? "" : event.data.slice(at + 1);
    var callback = callbacks[id];
    if (!callback) { return; }
    delete callbacks[id];
    callback(args ? JSON.parse(args) : undefined);
  });
  function absorb(data) {
    state = state || {};
    state.auth = {access_token: data.AUTH_ID, refresh_token: data.REFRESH_ID,
                  // getAuth().expires_in is a millisecond epoch, not a duration
                  // (REST docs: sdk/bx24-js-sdk/system-functions/bx24-get-auth.md)
                  expires_in: Date.now() + parseInt(data.AUTH_EXPIRES, 10) * 1000,
                  domain: state.domain || data.DOMAIN, member_id: state.member_id || data.MEMBER_ID};
    if (data.DOMAIN) { state.domain = data.DOMAIN; state.auth.domain = data.DOMAIN; }
    if (data.MEMBER_ID) { state.member_id = data.MEMBER_ID; state.auth.member_id = data.MEMBER_ID; }
  }
  function restUrl() { return state.rest_url || origin + "/rest/"; }
  function Result(answer, method, params, callback) {
    this.answer = answer; this.method = method; this.params = params; this.callback = callback;
  }
  Result.prototype.data = function () { return this.answer.result; };
  Result.prototype.error = function () { return this.answer.error ? this.answer.error : false; };
  Result.prototype.error_description = function () { return this.answer.error_description || ""; };
  Result.prototype.more = function () { return this.answer.next !== undefined; };
  Result.prototype.total = function () { return this.answer.total; };
  Result.prototype.next = function (callback) {
    if (!this.more()) { return false; }
    return BX24.callMethod(this.method, Object.assign({}, this.params, {start: this.answer.next}),
                           callback || this.callback);
  };
  function call(method, params, callback, retried) {
    var body = encode(Object.assign({}, params || {}, {auth: state.auth.access_token}), "", []).join("&");
    return post(restUrl() + method + ".json", body, "application/x-www-form-urlencoded")
      .then(function (response) { return response.json(); })
      .then(function (answer) {
        if (answer.error === "expired_token" && framed && !retried) {  // the library refreshes once and retries
          return new Promise(function (resolve) {
            BX24.refreshAuth(function () { resolve(call(method, params, callback, true)); });
          });
        }
        var result = new Result(answer, method, params, callback);
        if (callback) { callback(result); }
        return result;
      });
  }
  var BX24 = {
    init: function (callback) {
      if (framed) {
        send("getInitData", null, function (data) {
          state = {domain: data.DOMAIN, member_id: data.MEMBER_ID, lang: data.LANG, is_admin: !!data.IS_ADMIN,
                   placement: data.PLACEMENT, options: data.PLACEMENT_OPTIONS || {}, install: !!data.INSTALL,
                   rest_url: origin + (data.PATH || "/rest") + "/"};
          absorb(data);
          if (callback) { callback(); }
        });
        return;
      }
      if (!fallback) { fail(); }
      state = {domain: fallback.auth.domain, member_id: fallback.auth.member_id, lang: "ru",
               is_admin: !!fallback.is_admin, placement: "DEFAULT", options: {}, install: true,
               rest_url: fallback.rest_url, auth: Object.assign({}, fallback.auth)};
      if (callback) { callback(); }
    },
    getAuth: function () { return state && state.auth ? Object.assign({}, state.auth) : false; },
    refreshAuth: function (callback) {
      send("refreshAuth", null, function (data) { absorb(data); if (callback) { callback(BX24.getAuth()); } });
    },
    isAdmin: function () { return !!(state && state.is_admin); },
    getLang: function () { return state ? state.lang : "ru"; },
    getDomain: function () { return state ? state.domain : ""; },
    resizeWindow: function (width, height, callback) {
      send("resizeWindow", {width: width, height: height}, callback);
    },
    fitWindow: function (callback) {
      var height = Math.max(document.documentElement.scrollHeight, document.body ? document.body.scrollHeight : 0);
      send("resizeWindow", {width: "100%%", height: height}, callback);
    },
    setTitle: function (title, callback) { send("setTitle", {title: String(title)}, callback); },
    openApplication: function (params, callback) { send("openApplication", params || {}, callback); },
    closeApplication: function (callback) { send("closeApplication", null, callback); },
    openPath: function (path, callback) { send("openPath", {path: path}, callback); },
    placement: {
      info: function () { return state ? {placement: state.placement, options: state.options} : false; },
      getInterface: function (callback) { send("getInterface", null, callback); },
      call: function (command, params, callback) { send(command, params || {}, callback); }
    },
    installFinish: function () {
      if (framed) { send("setInstallFinish", {}, function () {}); return; }
      if (!fallback) { fail(); }
      return post(fallback.finish_url, JSON.stringify({user_id: fallback.user_id}), "text/plain");
    },
    callMethod: function (method, params, callback) {
      if (!state) { fail(); }
      return call(method, params, callback, false);
    }
  };
  globalThis.BX24 = BX24;
})(%(frame)s);
"""


def remember_frame(portal: PortalState, client_id: str, user_id: int, form: dict[str, Any]) -> None:
    """Note the install form posted to an app's page: the shim serves it to that page outside a frame."""
    portal.frames.pop(client_id, None)  # re-insert: the last opened frame is the last key
    portal.frames[client_id] = {
        "client_id": client_id, "user_id": user_id, "rest_url": portal.rest_url, "is_admin": portal.is_admin(user_id),
        "finish_url": f"{portal.base_url}/_emulator/apps/{client_id}/install-finish",
        "auth": {"access_token": form["AUTH_ID"], "refresh_token": form["REFRESH_ID"],
                 # getAuth().expires_in is a millisecond epoch, not a duration
                 # (REST docs: sdk/bx24-js-sdk/system-functions/bx24-get-auth.md)
                 "expires_in": int((portal.clock.now() + float(form["AUTH_EXPIRES"])) * 1000),
                 "domain": portal.domain, "member_id": portal.member_id},
    }


def shim_source(portal: PortalState, client_id: str | None) -> str:
    """The script, with ``client_id``'s last install frame (or any app's last) as the out-of-frame fallback."""
    frame = portal.frames.get(client_id) if client_id else next(reversed(portal.frames.values()), None)
    return SHIM % {"frame": json.dumps(frame, ensure_ascii=False), "outside": json.dumps(OUTSIDE_FRAME)}
