"""A tiny BX24.js for install pages opened by ``/_emulator/apps/<client_id>/install`` (b24-app.md §8).

``GET /bitrix/js/rest/bx24.js`` serves it with the frame of the last install form the emulator posted
(``?client_id=`` picks that app's last one): ``BX24.init(cb)``, ``BX24.getAuth()``,
``BX24.callMethod(method, params, cb)`` with the frame's token, and ``BX24.installFinish()``, which
POSTs to the install-finish hook as the portal's own script would finish the install (§2.4 A).
"""
from __future__ import annotations

import json
from typing import Any

from .state import PortalState

SHIM_PATH = "/bitrix/js/rest/bx24.js"
OUTSIDE_FRAME = "Unable to initialize Bitrix24 JS library!"  # b24-app.md §8: BX24 used outside a frame

SHIM = """(function (frame) {
  "use strict";
  function fail() { throw new Error(%(outside)s); }
  function encode(value, prefix, pairs) {  // PHP http_build_query keys: a[b][0]=x (b24-transport 1.3)
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
  function Result(answer) { this.answer = answer; }
  Result.prototype.data = function () { return this.answer.result; };
  Result.prototype.error = function () { return this.answer.error ? this.answer.error : false; };
  Result.prototype.error_description = function () { return this.answer.error_description || ""; };
  Result.prototype.more = function () { return this.answer.next !== undefined; };
  Result.prototype.total = function () { return this.answer.total; };
  globalThis.BX24 = {
    init: function (callback) { if (!frame) { fail(); } if (callback) { callback(); } },
    getAuth: function () { return frame ? Object.assign({}, frame.auth) : false; },
    installFinish: function () {
      if (!frame) { fail(); }
      return post(frame.finish_url, JSON.stringify({user_id: frame.user_id}), "text/plain");
    },
    callMethod: function (method, params, callback) {
      if (!frame) { fail(); }
      var body = encode(Object.assign({}, params || {}, {auth: frame.auth.access_token}), "", []).join("&");
      return post(frame.rest_url + method + ".json", body, "application/x-www-form-urlencoded")
        .then(function (response) { return response.json(); })
        .then(function (answer) {
          var result = new Result(answer);
          if (callback) { callback(result); }
          return result;
        });
    }
  };
})(%(frame)s);
"""


def remember_frame(portal: PortalState, client_id: str, user_id: int, form: dict[str, Any]) -> None:
    """Note the install form posted to an app's page: the shim serves it to that page."""
    portal.frames.pop(client_id, None)  # re-insert: the last opened frame is the last key
    portal.frames[client_id] = {
        "client_id": client_id, "user_id": user_id, "rest_url": portal.rest_url,
        "finish_url": f"{portal.base_url}/_emulator/apps/{client_id}/install-finish",
        "auth": {"access_token": form["AUTH_ID"], "refresh_token": form["REFRESH_ID"],
                 # b24-app.md §8: getAuth().expires_in is a millisecond epoch, not a duration
                 "expires_in": int((portal.clock.now() + float(form["AUTH_EXPIRES"])) * 1000),
                 "domain": portal.domain, "member_id": portal.member_id},
    }


def shim_source(portal: PortalState, client_id: str | None) -> str:
    """The script for ``client_id``'s last frame, or the last frame of any app; no frame: BX24 fails."""
    frame = portal.frames.get(client_id) if client_id else next(reversed(portal.frames.values()), None)
    return SHIM % {"frame": json.dumps(frame, ensure_ascii=False), "outside": json.dumps(OUTSIDE_FRAME)}
