"""Sub-commands of the `gansynth-live` CLI; each module has add_arguments() and run()."""
