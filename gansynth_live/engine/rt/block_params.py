"""Audio thread only (the kernels read it): the per-block scalars the mixer hands the kernels.

One float64 array, indexed by these constants, rewritten in place each block
(frames, glide step) or by a SetEnvelope record (the envelope's coefficients,
P_ATTACK_RATE..P_LOG_K_RELEASE in envelope.coefficients' order): passing one
array costs a compiled call no object.
"""

P_FRAMES, P_GLIDE_INC, P_FADE_FRAMES, P_ATTACK_RATE, P_SUSTAIN, P_LOG_K_DECAY, \
    P_LOG_K_RELEASE, P_GLIDE_FRAMES = range(8)
PARAMS = 8
