"""The library layer: one module per operation on a container.

The CLI (operations/, one thin module per subcommand) and the Python API
(api.py) are both thin layers over these functions; none of them prints or
parses command lines.  Each takes the state root (--root) and a container id
and raises errors.OCIError (or a subclass) with the message runc would give.

  create    CreateOptions, create(): the parent's side of container creation
  start     start(): release the waiting init
  run       run(): create + start + wait + delete
  execute   ExecOptions, execute(): another process in the container
  kill      kill(), parse_signal(), signal_init(), signal_all()
  delete    delete(), destroy()
  pause     pause(), resume()
  update    update(): new limits merged into the recorded ones
  events    stats(), watch(): statistics and OOM kills
  query     state(), list_states(), pids()

The forks, the messages between the processes and the container-side steps
are in process/.
"""
