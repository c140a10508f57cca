"""Note generation on another machine: a Ray Serve deployment and its HTTP client.

- `wire.py`: what travels (JSON requests; a JSON header plus raw samples back), no pickle;
- `server.py`: the Ray Serve deployment (`gansynth-live generate-server`), Ray needed;
- `client.py`: `RemoteGenerator`, the laptop's side, standard library only.

Only `server.py` imports Ray, so `serve --generator URL` runs without the cluster extra.
"""
