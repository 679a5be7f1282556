"""A local HTTP peer for ldh's Elasticsearch and webhook tests (Python standard library only).

No Elasticsearch server can be installed here, so this peer implements the documented `_bulk`
request/response contract closely enough to exercise what a client must handle:

- POST /_bulk and /<index>/_bulk take NDJSON: an action line (`index`, `create`, `update`,
  `delete`) followed by a source line (none for `delete`); the body must end with a newline and
  carry Content-Type application/x-ndjson or application/json (else 406). A malformed action
  line fails the whole request with 400; a malformed source fails only its item.
- The answer is 200 with `took`, `errors` (true when any item failed) and `items`, one per
  action in request order, each `{"<action>": {"_index", "_id", "_version", "result",
  "status", "error": {"type", "reason"}}}`. `filter_path` is honoured (dotted paths, `*`).
- Each index keeps a dynamic mapping, fixed by the first value seen for each field: a later
  value that does not fit it (text in a numeric field, a scalar where an object was) fails its
  item with 400 `mapper_parsing_exception`, as Elasticsearch does.
- Documents are stored by `_id` (an `index` of an existing id overwrites it and bumps
  `_version`); an action without `_id` gets a generated one.

Failures are injected through the control endpoint, POST /_peer/control with a JSON object
(the same settings are command-line flags at start):
  {"failRequests": {"status": 429, "count": 2}}  the next 2 bulk requests answer 429
                                                 (count -1: every request, until changed)
  {"throttle": {"every": 3, "times": 1}}          items whose _id hashes to 0 mod 3 answer
                                                 429 es_rejected_execution_exception the
                                                 first `times` times they are sent
  {"delay": 2.5}                                  every answer waits 2.5 s
  {"webhookStatus": 500, "webhookCount": -1}      webhook POSTs answer 500 (count as above)

Everything else POSTed (the webhook) is recorded with its path, headers and body, and answered
200 unless told otherwise. GET /_peer/state returns the counters; GET /_peer/documents returns
every stored document as {"_index", "_id", "_version", "_source"} lines; GET /_peer/webhooks
returns the recorded webhook calls as JSON lines (POST works too for these three).

With --discard, bulk requests are answered {"errors": false} without being read (a
benchmark's peer: it measures the client, not this server).

Prints "PORT <n>" once listening.
"""

import argparse
import json
import sys
import threading
import time
import uuid
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

MISSING = object()


class State:
    def __init__(self):
        self.lock = threading.Lock()
        self.indices = {}  # index -> {"mapping": {field: kind}, "documents": {id: (version, source)}}
        self.fail_status = 0
        self.fail_count = 0
        self.throttle_every = 0
        self.throttle_times = 0
        self.throttle_status = 429
        self.sent_counts = {}  # (index, id) -> times the id was sent
        self.delay = 0.0
        self.discard = False
        self.webhook_status = 200
        self.webhook_count = 0
        self.webhooks = []
        self.last_bulk_headers = {}
        self.counters = {"bulkRequests": 0, "items": 0, "itemsFailed": 0, "itemsThrottled": 0,
                         "requestsFailed": 0, "webhookCalls": 0, "webhookFailed": 0}

    def control(self, settings):
        with self.lock:
            if "failRequests" in settings:
                self.fail_status = int(settings["failRequests"].get("status", 500))
                self.fail_count = int(settings["failRequests"].get("count", -1))
            if "throttle" in settings:
                self.throttle_every = int(settings["throttle"].get("every", 0))
                self.throttle_times = int(settings["throttle"].get("times", 1))
                self.throttle_status = int(settings["throttle"].get("status", 429))
            if "delay" in settings:
                self.delay = float(settings["delay"])
            if "webhookStatus" in settings:
                self.webhook_status = int(settings["webhookStatus"])
                self.webhook_count = int(settings.get("webhookCount", -1))


def value_kind(value):
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, dict):
        return "object"
    return None  # null and arrays leave the mapping as it is


def mapping_error(mapping, source, prefix=""):
    """Checks `source` against the index's dynamic mapping, adding fields first seen."""
    for name, value in source.items():
        path = prefix + name
        kind = value_kind(value)
        if kind is None:
            continue
        known = mapping.get(path)
        if known is None:
            mapping[path] = kind
        elif known == "number" and kind == "text":
            try:
                float(value)
            except ValueError:
                return ("failed to parse field [%s] of type [double]. Preview of field's value: "
                        "'%s'" % (path, value))
        elif known != kind and not (known == "text" and kind in ("number", "boolean")):
            return "failed to parse field [%s] of type [%s]" % (path, known)
        if kind == "object":
            error = mapping_error(mapping, value, path + ".")
            if error:
                return error
    return None


def apply_filter(value, paths):
    """Keeps what `filter_path` asks for: each path a list of names, `*` matching any."""
    if any(len(path) == 0 for path in paths):
        return value
    if isinstance(value, list):
        kept = [apply_filter(item, paths) for item in value]
        kept = [item for item in kept if item is not MISSING]
        return kept if kept else MISSING
    if isinstance(value, dict):
        kept = {}
        for key, item in value.items():
            rest = [path[1:] for path in paths if path[0] in ("*", key)]
            if rest:
                filtered = apply_filter(item, rest)
                if filtered is not MISSING:
                    kept[key] = filtered
        return kept if kept else MISSING
    return MISSING


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # The headers and the body go out in two writes: without this the body waits for the
    # client's delayed acknowledgement of the headers (40 ms on Linux).
    disable_nagle_algorithm = True
    state = None  # set in main()

    def log_message(self, format, *args):
        pass  # the tests read stdout; errors still go to stderr through send_error

    def answer(self, status, payload, content_type="application/json"):
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        try:
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up waiting (a timeout test): nothing to answer

    def read_body(self):
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length)

    def do_GET(self):
        state = self.state
        path = urlparse(self.path).path
        with state.lock:
            if path == "/_peer/state":
                documents = sum(len(index["documents"]) for index in state.indices.values())
                payload = dict(state.counters, documents=documents,
                               lastBulkHeaders=state.last_bulk_headers)
                self.answer(200, payload)
            elif path == "/_peer/documents":
                lines = []
                for name, index in sorted(state.indices.items()):
                    for document_id, (version, source) in sorted(index["documents"].items()):
                        lines.append(json.dumps({"_index": name, "_id": document_id,
                                                 "_version": version, "_source": source}))
                self.answer(200, ("\n".join(lines) + "\n" if lines else "").encode(),
                            "application/x-ndjson")
            elif path == "/_peer/webhooks":
                lines = [json.dumps(call) for call in state.webhooks]
                self.answer(200, ("\n".join(lines) + "\n" if lines else "").encode(),
                            "application/x-ndjson")
            else:
                self.answer(404, {"error": "not found", "status": 404})

    def do_POST(self):
        state = self.state
        url = urlparse(self.path)
        body = self.read_body()
        if url.path == "/_peer/control":
            state.control(json.loads(body or b"{}"))
            self.answer(200, {"acknowledged": True})
            return
        if url.path.startswith("/_peer/"):
            self.do_GET()
            return
        with state.lock:
            delay = state.delay
        if delay > 0:
            time.sleep(delay)
        parts = url.path.strip("/").split("/")
        if parts[-1] == "_bulk" and len(parts) <= 2 and state.discard:
            with state.lock:
                state.counters["bulkRequests"] += 1
                state.counters["items"] += body.count(b"\n") // 2
            self.answer(200, {"took": 0, "errors": False})
        elif parts[-1] == "_bulk" and len(parts) <= 2:
            self.bulk(parts[0] if len(parts) == 2 else None, url, body)
        else:
            self.webhook(url, body)

    def webhook(self, url, body):
        state = self.state
        with state.lock:
            state.counters["webhookCalls"] += 1
            status = 200
            if state.webhook_count != 0 and state.webhook_status != 200:
                status = state.webhook_status
                if state.webhook_count > 0:
                    state.webhook_count -= 1
            if status == 200:
                state.webhooks.append({"path": url.path, "headers": dict(self.headers.items()),
                                       "body": body.decode("utf-8", "replace"),
                                       "received": time.time()})
            else:
                state.counters["webhookFailed"] += 1
        self.answer(status, {"status": status})

    def bulk(self, default_index, url, body):
        state = self.state
        content_type = (self.headers.get("Content-Type") or "").split(";")[0].strip()
        if content_type not in ("application/x-ndjson", "application/json"):
            self.answer(406, {"error": "Content-Type header [%s] is not supported" % content_type,
                              "status": 406})
            return
        with state.lock:
            state.counters["bulkRequests"] += 1
            state.last_bulk_headers = dict(self.headers.items())
            if state.fail_count != 0:
                if state.fail_count > 0:
                    state.fail_count -= 1
                state.counters["requestsFailed"] += 1
                status = state.fail_status
                self.answer(status, {"error": {"type": "injected", "reason": "injected failure"},
                                     "status": status})
                return
        if body and not body.endswith(b"\n"):
            self.answer(400, {"error": {"type": "illegal_argument_exception",
                                        "reason": "The bulk request must be terminated by a "
                                                  "newline [\\n]"}, "status": 400})
            return
        lines = body.split(b"\n")[:-1] if body else []
        started = time.time()
        items = []
        errors = False
        position = 0
        with state.lock:
            while position < len(lines):
                try:
                    action_line = json.loads(lines[position])
                    (action, metadata), = action_line.items()
                    if action not in ("index", "create", "update", "delete"):
                        raise ValueError("unknown action [%s]" % action)
                except (ValueError, TypeError) as problem:
                    self.answer(400, {"error": {"type": "illegal_argument_exception",
                                                "reason": "Malformed action/metadata line [%d]: %s"
                                                          % (position + 1, problem)},
                                      "status": 400})
                    return
                position += 1
                source_line = None
                if action != "delete":
                    if position >= len(lines):
                        self.answer(400, {"error": {"type": "illegal_argument_exception",
                                                    "reason": "Validation Failed: 1: no requests "
                                                              "added;"}, "status": 400})
                        return
                    source_line = lines[position]
                    position += 1
                item = self.apply(action, metadata, source_line, default_index)
                errors = errors or "error" in item
                items.append({action: item})
            state.counters["items"] += len(items)
        response = {"took": int((time.time() - started) * 1000), "errors": errors, "items": items}
        filter_path = parse_qs(url.query).get("filter_path")
        if filter_path:
            paths = [path.split(".") for text in filter_path for path in text.split(",")]
            filtered = apply_filter(response, paths)
            response = {} if filtered is MISSING else filtered
        self.answer(200, response)

    def apply(self, action, metadata, source_line, default_index):
        """Carries out one action (state lock held) and returns its item."""
        state = self.state
        name = metadata.get("_index", default_index)
        document_id = metadata.get("_id") or uuid.uuid4().hex
        item = {"_index": name, "_id": document_id}
        if not name:
            item.update(status=400, error={"type": "action_request_validation_exception",
                                           "reason": "Validation Failed: 1: index is missing;"})
            state.counters["itemsFailed"] += 1
            return item
        key = (name, document_id)
        state.sent_counts[key] = state.sent_counts.get(key, 0) + 1
        if (state.throttle_every > 0 and zlib.crc32(document_id.encode()) % state.throttle_every
                == 0 and state.sent_counts[key] <= state.throttle_times):
            state.counters["itemsThrottled"] += 1
            item.update(status=state.throttle_status,
                        error={"type": "es_rejected_execution_exception",
                               "reason": "rejected execution of coordinating operation"})
            return item
        index = state.indices.setdefault(name, {"mapping": {}, "documents": {}})
        documents = index["documents"]
        existing = documents.get(document_id)
        if action == "delete":
            if existing is None:
                item.update(status=404, result="not_found", _version=1)
            else:
                del documents[document_id]
                item.update(status=200, result="deleted", _version=existing[0] + 1)
            return item
        try:
            source = json.loads(source_line)
            if not isinstance(source, dict):
                raise ValueError("the document is not an object")
        except ValueError as problem:
            item.update(status=400, error={"type": "mapper_parsing_exception",
                                           "reason": "failed to parse: %s" % problem})
            state.counters["itemsFailed"] += 1
            return item
        if action == "update":
            if existing is None:
                item.update(status=404, error={"type": "document_missing_exception",
                                               "reason": "[%s]: document missing" % document_id})
                state.counters["itemsFailed"] += 1
                return item
            merged = dict(existing[1])
            merged.update(source.get("doc", {}))
            source = merged
        if action == "create" and existing is not None:
            item.update(status=409, error={"type": "version_conflict_engine_exception",
                                           "reason": "[%s]: version conflict, document already "
                                                     "exists" % document_id})
            state.counters["itemsFailed"] += 1
            return item
        error = mapping_error(index["mapping"], source)
        if error:
            item.update(status=400, error={"type": "mapper_parsing_exception",
                                           "reason": error + " in document with id '%s'"
                                                     % document_id})
            state.counters["itemsFailed"] += 1
            return item
        version = 1 if existing is None else existing[0] + 1
        documents[document_id] = (version, source)
        item.update(_version=version, result="created" if existing is None else "updated",
                    status=201 if existing is None else 200,
                    _shards={"total": 1, "successful": 1, "failed": 0})
        return item


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--fail-status", type=int, default=500)
    parser.add_argument("--fail-requests", type=int, default=0,
                        help="bulk requests answered --fail-status first (-1: all)")
    parser.add_argument("--throttle-every", type=int, default=0)
    parser.add_argument("--throttle-times", type=int, default=1)
    parser.add_argument("--delay", type=float, default=0.0)
    parser.add_argument("--webhook-status", type=int, default=200)
    parser.add_argument("--webhook-count", type=int, default=-1)
    parser.add_argument("--discard", action="store_true")
    arguments = parser.parse_args()
    state = State()
    state.control({"failRequests": {"status": arguments.fail_status,
                                    "count": arguments.fail_requests},
                   "throttle": {"every": arguments.throttle_every,
                                "times": arguments.throttle_times},
                   "delay": arguments.delay,
                   "webhookStatus": arguments.webhook_status,
                   "webhookCount": arguments.webhook_count})
    state.discard = arguments.discard
    Handler.state = state
    server = ThreadingHTTPServer(("127.0.0.1", arguments.port), Handler)
    server.daemon_threads = True
    print("PORT %d" % server.server_address[1], flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())
