"""The main job in one command on a fresh machine: a container engine, kind and kubectl at the pins, the images,
then ``pytest scenarios`` on kind with the profiles' clusters side by side (``scripts/main-job``)."""
