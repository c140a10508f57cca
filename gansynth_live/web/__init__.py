"""The browser control surface `serve` offers: an HTTP page and a WebSocket speaking OSC's addresses.

protocol: browser JSON <-> (OSC address, arguments); access: who may open the
socket (loopback, token, Origin); server: the HTTP/WebSocket server thread;
static/: the page, its script and style (no build step, nothing fetched).
"""
