"""The local field potential from spikes (``recorders.lfp``): the electrode grid on the sheet
(``geometry``), kernels from the shipped LFPykernels table and the built network
(``kernels``), their FFT convolution with binned spikes (``convolve``) and the current-sum
proxy (``proxy``). ``engine.lfp.LfpRecord`` drives them during a run."""
