"""The process llama.cpp's server runs in: started by `perception.vlm.llamacpp.LlamaCppServer`, never imported.

It reads the server's settings as one JSON object (argv[1]), loads the model, writes one JSON
line to stdout (`{"address": ...}`, or `{"error": ...}` and exits 1), then serves until its
stdin closes: the parent closing it, or dying, stops the server. Run by path, it imports nothing
of Longshot, so a crash in the native library ends this process alone.
"""

import json
import os
import sys


def main() -> int:
    import xllamacpp

    settings = json.loads(sys.argv[1])
    params = xllamacpp.CommonParams()
    params.model.path = settings["model"]
    if settings["projector"]:
        params.mmproj.path = settings["projector"]
    params.port = 0  # the OS picks a free one
    params.n_parallel = settings["parallel"]
    params.n_ctx = settings["context_tokens"] * settings["parallel"]  # llama.cpp splits n_ctx between its slots
    params.cpuparams.n_threads = settings["threads"]
    params.cpuparams_batch.n_threads = settings["threads"]
    params.verbosity = settings["verbosity"]
    try:
        server = xllamacpp.Server(params)
    except RuntimeError as err:
        print(json.dumps({"error": str(err)}), flush=True)
        return 1
    print(json.dumps({"address": server.listening_address}), flush=True)
    sys.stdin.read()  # until the parent closes the pipe or exits
    # Out at once, not through the server's own stop, which lets a request in flight generate to
    # its end: the OS frees the model and resets the sockets, so a waiting client fails now.
    os._exit(0)


if __name__ == "__main__":
    sys.exit(main())
