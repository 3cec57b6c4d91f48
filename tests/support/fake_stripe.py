"""A small Stripe-shaped HTTP API on loopback for payment tests.

Point stripe-python at ``FakeStripe.url`` (``StripeClient(..., base_addresses={"api": url})`` or
``stripe.api_base = url``). It models PaymentIntents (create, retrieve, capture, cancel), refunds,
events and Stripe's idempotency keys. The customer's side (confirming a card in the browser) is
simulated with :meth:`FakeStripe.customer_pays`; webhook deliveries with :func:`sign_webhook`.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import re
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self
from urllib.parse import parse_qsl, urlsplit

import stripe

Json = dict[str, Any]

SUCCESS_CARD = "4242424242424242"
DECLINE_CODES = {"4000000000000002": "generic_decline", "4000000000009995": "insufficient_funds"}
PAYABLE = ("requires_payment_method", "requires_confirmation", "requires_action")
CANCELABLE = (*PAYABLE, "requires_capture")
CANCELLATION_REASONS = ("duplicate", "fraudulent", "requested_by_customer", "abandoned")


class StripeError(Exception):
    """An API error; ``saved`` errors are stored under the idempotency key like real Stripe."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type_: str = "invalid_request_error",
        code: str | None = None,
        param: str | None = None,
        saved: bool = False,
    ) -> None:
        super().__init__(message)
        self.status, self.saved = status, saved
        error: Json = {"type": type_, "message": message}
        error |= {k: v for k, v in (("code", code), ("param", param)) if v is not None}
        self.body: Json = {"error": error}


@dataclass
class RecordedRequest:
    method: str
    path: str
    params: Json
    idempotency_key: str | None
    headers: dict[str, str] = field(repr=False)
    status: int = 0
    replayed: bool = False


@dataclass(frozen=True)
class _Saved:
    request: tuple[str, str, Json]
    status: int
    body: Json


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(12)}"


def parse_form(body: str) -> Json:
    """Decode stripe-python's form encoding (``metadata[k]=v``, ``expand[0]=x``) to nested data."""
    result: Json = {}
    for key, value in parse_qsl(body, keep_blank_values=True):
        parts = [key.split("[", 1)[0], *re.findall(r"\[([^\]]*)\]", key)]
        node = result
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return {key: _listify(value, key) for key, value in result.items()}


def _listify(node: Any, key: str) -> Any:
    if not isinstance(node, dict):
        return node
    items = {k: _listify(v, k) for k, v in node.items()}
    if key != "metadata" and items and all(k.isdigit() for k in items):
        return [items[k] for k in sorted(items, key=int)]
    return items


def _int_param(params: Json, name: str, default: int | None = None) -> int:
    value = params.get(name)
    if value is None:
        if default is not None:
            return default
        raise StripeError(
            400, f"Missing required param: {name}.", code="parameter_missing", param=name
        )
    if not (isinstance(value, str) and value.isdigit() and int(value) > 0):
        raise StripeError(
            400, f"Invalid integer: {value}", code="parameter_invalid_integer", param=name
        )
    return int(value)


def _state_error(obj: Json, action: str, allowed: tuple[str, ...]) -> StripeError:
    message = (
        f"This PaymentIntent could not be {action} because it has a status of {obj['status']}. "
        f"Only a PaymentIntent with one of the following statuses may be {action}: "
        f"{', '.join(allowed)}."
    )
    return StripeError(400, message, code="payment_intent_unexpected_state", saved=True)


def sign_webhook(payload: bytes, secret: str, timestamp: int | None = None) -> str:
    """A ``Stripe-Signature`` header value for ``payload`` as Stripe computes it."""
    t = int(time.time()) if timestamp is None else timestamp
    signed = f"{t}.".encode() + payload
    return f"t={t},v1={hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()}"


def signed_webhook(event: Json, secret: str) -> tuple[bytes, str]:
    """``(body, Stripe-Signature header)`` of a webhook delivery of ``event``."""
    payload = json.dumps(event).encode()
    return payload, sign_webhook(payload, secret)


class FakeStripe:
    """The fake API. Use ``with FakeStripe() as server:`` or ``start()``/``stop()``.

    State is public for assertions: ``payment_intents``, ``charges``, ``refunds`` (id -> object),
    ``events`` (oldest first) and ``requests`` (every HTTP request, oldest first).
    """

    def __init__(self, *, api_key: str | None = None, api_version: str | None = None) -> None:
        self.api_key = api_key  # if set, only this key is accepted (else any ``sk_...``)
        self.api_version = api_version or stripe.api_version
        self.payment_intents: dict[str, Json] = {}
        self.charges: dict[str, Json] = {}
        self.refunds: dict[str, Json] = {}
        self.events: list[Json] = []
        self.requests: list[RecordedRequest] = []
        self._saved: dict[tuple[str, str], _Saved] = {}
        self._lock = threading.RLock()
        self._request_ref: Json = {"id": None, "idempotency_key": None}
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None
        pi = r"/v1/payment_intents/([^/]+)"
        self._routes: list[tuple[str, re.Pattern[str], Callable[..., Json]]] = [
            ("POST", re.compile(r"/v1/payment_intents"), self._create_payment_intent),
            ("POST", re.compile(pi + "/capture"), self._capture),
            ("POST", re.compile(pi + "/cancel"), self._cancel),
            ("POST", re.compile(r"/v1/refunds"), self._create_refund),
            ("GET", re.compile(r"/v1/(payment_intents|charges|refunds|events)/([^/]+)"), self._get),
        ]

    # -- lifecycle -------------------------------------------------------------------------

    @property
    def url(self) -> str:
        if self._httpd is None:
            raise RuntimeError("FakeStripe is not running")
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> Self:
        if self._httpd is not None:
            raise RuntimeError("FakeStripe is already running")
        self._httpd = _Server(self)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, args=(0.05,), name="fake-stripe", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None and self._thread is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._thread.join()
        self._httpd = self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def client(self, api_key: str = "sk_test_fake", **options: Any) -> stripe.StripeClient:
        """A ``StripeClient`` aimed at this server (no network retries unless asked for)."""
        options.setdefault("max_network_retries", 0)
        return stripe.StripeClient(api_key, base_addresses={"api": self.url}, **options)

    # -- test-side controls ----------------------------------------------------------------

    def customer_pays(self, pi_id: str, card: str = SUCCESS_CARD) -> list[Json]:
        """The customer confirms ``pi_id`` with ``card``; returns the events Stripe would send."""
        with self._lock:
            self._request_ref = {"id": None, "idempotency_key": None}
            pi = self.payment_intents[pi_id]
            if pi["status"] not in PAYABLE:
                raise ValueError(f"{pi_id} cannot be paid: status is {pi['status']}")
            decline = DECLINE_CODES.get(card)
            charge = self._new_charge(pi, card, decline)
            pi |= {"latest_charge": charge["id"], "payment_method": charge["payment_method"]}
            if decline is not None:
                pi |= {"status": "requires_payment_method", "last_payment_error": {
                    "type": "card_error", "code": "card_declined", "decline_code": decline,
                    "message": "Your card was declined.", "charge": charge["id"],
                }}  # fmt: skip
                return [self._emit("payment_intent.payment_failed", pi)]
            pi["last_payment_error"] = None
            if pi["capture_method"] == "manual":
                pi |= {"status": "requires_capture", "amount_capturable": pi["amount"]}
                return [self._emit("payment_intent.amount_capturable_updated", pi)]
            charge |= {"captured": True, "amount_captured": pi["amount"]}
            pi |= {"status": "succeeded", "amount_received": pi["amount"]}
            return [self._emit("payment_intent.succeeded", pi)]

    def events_of_type(self, event_type: str) -> list[Json]:
        with self._lock:
            return [event for event in self.events if event["type"] == event_type]

    def requests_to(self, method: str, path: str) -> list[RecordedRequest]:
        with self._lock:
            return [r for r in self.requests if (r.method, r.path) == (method, path)]

    # -- HTTP dispatch ---------------------------------------------------------------------

    def handle(
        self, method: str, path: str, params: Json, headers: dict[str, str]
    ) -> tuple[int, Json, dict[str, str]]:
        """Answer one request: ``(status, JSON body, extra response headers)``."""
        key = headers.get("idempotency-key") if method == "POST" else None
        response_headers = {"Request-Id": new_id("req")}
        record = RecordedRequest(method, path, params, key, headers)
        with self._lock:
            self.requests.append(record)
            self._request_ref = {"id": response_headers["Request-Id"], "idempotency_key": key}
            record.status, body, record.replayed = self._respond(method, path, params, headers, key)
        if key is not None:
            response_headers["Idempotency-Key"] = key
        if record.replayed:
            response_headers["Idempotent-Replayed"] = "true"
        return record.status, body, response_headers

    def _respond(
        self, method: str, path: str, params: Json, headers: dict[str, str], key: str | None
    ) -> tuple[int, Json, bool]:
        match = re.fullmatch(r"Bearer (\S+)", headers.get("authorization", ""))
        api_key = match.group(1) if match else ""
        if not api_key.startswith("sk_") or self.api_key not in (None, api_key):
            shown = f"{api_key[:8]}{'*' * max(len(api_key) - 12, 0)}{api_key[-4:]}"
            message = f"Invalid API Key provided: {shown}" if api_key else "No API key provided."
            return 401, StripeError(401, message).body, False
        if key is not None and (saved := self._saved.get((api_key, key))) is not None:
            if saved.request != (method, path, params):
                message = (
                    "Keys for idempotent requests can only be used with the same parameters they "
                    f"were first used with. Try using a key other than '{key}' if you meant to "
                    "execute a different request."
                )
                return 400, StripeError(400, message, type_="idempotency_error").body, False
            return saved.status, copy.deepcopy(saved.body), True
        try:
            status, body = 200, copy.deepcopy(self._route(method, path, params))
        except StripeError as error:
            if not error.saved:
                return error.status, error.body, False
            status, body = error.status, error.body
        if key is not None:
            self._saved[api_key, key] = _Saved((method, path, params), status, copy.deepcopy(body))
        return status, body, False

    def _route(self, method: str, path: str, params: Json) -> Json:
        for route_method, pattern, handler in self._routes:
            if route_method == method and (match := pattern.fullmatch(path)):
                return handler(params, *match.groups())
        raise StripeError(404, f"Unrecognized request URL ({method}: {path}).")

    # -- resources -------------------------------------------------------------------------

    def _emit(self, event_type: str, obj: Json) -> Json:
        event = {
            "id": new_id("evt"), "object": "event", "api_version": self.api_version,
            "created": int(time.time()), "data": {"object": copy.deepcopy(obj)},
            "livemode": False, "pending_webhooks": 1, "request": dict(self._request_ref),
            "type": event_type,
        }  # fmt: skip
        self.events.append(event)
        return event

    def _find(self, collection: str, obj_id: str, param: str = "id") -> Json:
        objects = {e["id"]: e for e in self.events} if collection == "events" else None
        found: Json | None = (objects or getattr(self, collection)).get(obj_id)
        if found is None:
            message = f"No such {collection.removesuffix('s')}: '{obj_id}'"
            raise StripeError(404, message, code="resource_missing", param=param)
        return found

    def _get(self, _params: Json, collection: str, obj_id: str) -> Json:
        return self._find(collection, obj_id)

    def _create_payment_intent(self, params: Json) -> Json:
        amount = _int_param(params, "amount")
        currency = params.get("currency")
        if not isinstance(currency, str) or not re.fullmatch(r"[A-Za-z]{3}", currency):
            raise StripeError(400, "Missing required param: currency.", param="currency")
        capture_method = params.get("capture_method", "automatic")
        if capture_method not in ("automatic", "automatic_async", "manual"):
            message = f"Invalid capture_method: {capture_method}"
            raise StripeError(400, message, code="parameter_invalid_string", param="capture_method")
        metadata = params.get("metadata") or {}
        if not isinstance(metadata, dict):
            raise StripeError(400, "Invalid metadata: must be an object", param="metadata")
        automatic = params.get("automatic_payment_methods")
        methods = params.get("payment_method_types") or ["card"]
        pi_id = new_id("pi")
        pi: Json = {
            "id": pi_id, "object": "payment_intent", "amount": amount, "amount_capturable": 0,
            "amount_received": 0, "automatic_payment_methods": None, "canceled_at": None,
            "cancellation_reason": None, "capture_method": capture_method,
            "client_secret": f"{pi_id}_secret_{secrets.token_urlsafe(18)}",
            "confirmation_method": "automatic", "created": int(time.time()),
            "currency": currency.lower(), "customer": params.get("customer"),
            "description": params.get("description"), "last_payment_error": None,
            "latest_charge": None, "livemode": False,
            "metadata": {k: v for k, v in metadata.items() if v != ""},
            "payment_method": None, "payment_method_types": methods,
            "receipt_email": params.get("receipt_email"),
            "status": "requires_payment_method",
        }  # fmt: skip
        if isinstance(automatic, dict):
            pi["automatic_payment_methods"] = {"enabled": automatic.get("enabled") == "true"}
        self.payment_intents[pi_id] = pi
        self._emit("payment_intent.created", pi)
        return pi

    def _capture(self, params: Json, pi_id: str) -> Json:
        pi = self._find("payment_intents", pi_id, "intent")
        if pi["status"] != "requires_capture":
            raise _state_error(pi, "captured", ("requires_capture",))
        amount = _int_param(params, "amount_to_capture", pi["amount_capturable"])
        if amount > pi["amount_capturable"]:
            message = "The amount to capture exceeds the amount capturable."
            raise StripeError(400, message, code="amount_too_large", param="amount_to_capture")
        pi |= {"status": "succeeded", "amount_received": amount, "amount_capturable": 0}
        self.charges[pi["latest_charge"]] |= {"captured": True, "amount_captured": amount}
        self._emit("payment_intent.succeeded", pi)
        return pi

    def _cancel(self, params: Json, pi_id: str) -> Json:
        pi = self._find("payment_intents", pi_id, "intent")
        if pi["status"] not in CANCELABLE:
            raise _state_error(pi, "canceled", CANCELABLE)
        reason = params.get("cancellation_reason")
        if reason is not None and reason not in CANCELLATION_REASONS:
            message = (
                f"Invalid cancellation_reason: must be one of {', '.join(CANCELLATION_REASONS)}"
            )
            raise StripeError(400, message, param="cancellation_reason")
        pi |= {"status": "canceled", "cancellation_reason": reason, "amount_capturable": 0}
        pi["canceled_at"] = int(time.time())
        self._emit("payment_intent.canceled", pi)
        return pi

    def _create_refund(self, params: Json) -> Json:
        if "payment_intent" in params:
            pi = self._find("payment_intents", params["payment_intent"], "payment_intent")
        elif "charge" in params:
            charge_pi = self._find("charges", params["charge"], "charge")["payment_intent"]
            pi = self.payment_intents[charge_pi]
        else:
            raise StripeError(400, "One of `charge` or `payment_intent` is required.")
        if pi["status"] != "succeeded":
            message = (
                f"This PaymentIntent ({pi['id']}) does not have a successful charge to refund."
            )
            raise StripeError(400, message, code="payment_intent_unexpected_state", saved=True)
        charge = self.charges[pi["latest_charge"]]
        remaining = charge["amount_captured"] - charge["amount_refunded"]
        if remaining == 0:
            message = f"Charge {charge['id']} has already been refunded."
            raise StripeError(400, message, code="charge_already_refunded", saved=True)
        amount = _int_param(params, "amount", remaining)
        if amount > remaining:
            message = f"Refund amount ({amount}) is greater than unrefunded amount ({remaining})."
            raise StripeError(400, message, code="amount_too_large", param="amount")
        refund: Json = {
            "id": new_id("re"), "object": "refund", "amount": amount, "charge": charge["id"],
            "created": int(time.time()), "currency": pi["currency"],
            "metadata": params.get("metadata") or {}, "payment_intent": pi["id"],
            "reason": params.get("reason"), "status": "succeeded",
        }  # fmt: skip
        self.refunds[refund["id"]] = refund
        charge["amount_refunded"] += amount
        charge["refunded"] = charge["amount_refunded"] == charge["amount_captured"]
        self._emit("charge.refunded", charge)
        return refund

    def _new_charge(self, pi: Json, card: str, decline: str | None) -> Json:
        last4 = card[-4:]
        charge: Json = {
            "id": new_id("ch"), "object": "charge", "amount": pi["amount"], "amount_captured": 0,
            "amount_refunded": 0, "captured": False, "created": int(time.time()),
            "currency": pi["currency"], "failure_code": decline and "card_declined",
            "failure_message": decline and "Your card was declined.", "livemode": False,
            "metadata": dict(pi["metadata"]), "paid": decline is None,
            "payment_intent": pi["id"], "payment_method": new_id("pm"),
            "payment_method_details": {"type": "card", "card": {"brand": "visa", "last4": last4}},
            "refunded": False, "status": "failed" if decline else "succeeded",
        }  # fmt: skip
        self.charges[charge["id"]] = charge
        return charge


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, fake: FakeStripe) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.fake = fake


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def do_DELETE(self) -> None:
        self._serve("DELETE")

    def _serve(self, method: str) -> None:
        url = urlsplit(self.path)
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
        params = parse_form(body if method == "POST" else url.query)
        headers = {name.lower(): value for name, value in self.headers.items()}
        try:
            status, payload, extra = self.server.fake.handle(method, url.path, params, headers)
        except Exception as exc:  # a bug in the fake: tell the client not to retry
            status, payload = 500, StripeError(500, repr(exc), type_="api_error").body
            extra = {"Stripe-Should-Retry": "false"}
        data = json.dumps(payload).encode()
        self.send_response(status)
        for name, value in {**extra, "Content-Type": "application/json"}.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        pass
