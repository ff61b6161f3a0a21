"""NRI (Node Resource Interface), the runtime side: plugins connect to gantryd's NRI socket.

    ttrpc.py     ttrpc frames and envelopes (pure)
    mux.py       several logical connections over one socket, NRI's way (pure)
    conn.py      one plugin's socket: a reader thread, calls out, requests in (the I/O)
    convert.py   store records and OCI specs -> NRI PodSandbox / Container (pure)
    adjust.py    a plugin's ContainerAdjustment / LinuxResources -> the OCI spec (pure)
    plugin.py    one registered plugin: configure, synchronize, events by its mask
    adaptation.py the listening socket, the plugins in index order, event delivery
    hooks.py     NriHooks: runtime/hooks.Hooks calling the adaptation
"""
