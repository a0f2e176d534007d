"""The processes create and exec fork, and what passes between them.

  spawn           fork_with_channel (shared by create and exec), the child guard
                  (errors become messages, imports sealed), namespace joins
  messages        the JSON-line messages on the socketpair (parent <-> children <-> C waiter)
  container_init  create's children: intermediate and init, up to the exec of the waiter
  waiter_plan     what the C waiter (cffi_build/init.c) is told to do, decided on the host side
  terminal        waiting in the foreground: signal forwarding, the pty relay, exit codes
"""
