"""``python -m followthrough`` is the ``followthrough`` command."""

from followthrough.cli import console

if __name__ == "__main__":  # not again in a process multiprocessing spawns
    console()
