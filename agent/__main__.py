"""`python -m agent start|dev`: run the interviewer worker (see agent.worker)."""

from agent.worker import main

# Jobs start in forkserver processes that import this module; only the parent runs the worker.
if __name__ == "__main__":
    main()
