"""gantryd's streaming server: the URLs CRI Exec, Attach and PortForward return.

kubectl, crictl and critest connect to them and speak SPDY/3.1 (spdy.py,
sans-I/O) or WebSocket (wsproto) after an HTTP/1.1 upgrade (h11); see
server.py for the request flow and backend.py for how streams reach a
container through its gantry-shim.
"""
