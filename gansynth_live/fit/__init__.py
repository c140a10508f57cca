"""`gansynth-live fit`: render or read training notes and fit a GANSynth-layout model.

The model is magenta's generator architecture and mel + IF representation, so
the loader, banks and engine play it like a released checkpoint; only the
training method differs (see trainer.py).
"""
