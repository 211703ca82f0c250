import time, numpy as np
from benchmarks.bench_change import survey_scores
from benchmarks.data import SMALL
import collective_efficacy as ce
from collective_efficacy import _change_bootstrap as cb
from collective_efficacy._change_data import prepare, moments
data = survey_scores(*SMALL)
for _ in range(2): ce.bootstrap_change(data, "score", n_boot=2000, seed=1, min_n=2)
T={}
def tick(k,t0): T[k]=T.get(k,0)+time.perf_counter()-t0; return time.perf_counter()
for rep in range(5):
    t=time.perf_counter()
    tw = prepare(data, "score", wave="wave", community="community", before="baseline", after="end", nan_policy="omit")
    G=len(tw.labels)
    mb = moments(tw.y[~tw.after], tw.codes[~tw.after], G); ma = moments(tw.y[tw.after], tw.codes[tw.after], G)
    t=tick('prep',t)
    boot=np.zeros((G,2000),dtype=np.float32); use=(mb.n>=2)&(ma.n>=2)
    cb.bootstrap_means(tw.y[~tw.after], tw.codes[~tw.after], G, n_boot=2000, entropy=1, stream=0, out=boot, sign=-1.0, include=use, accumulate=False)
    t=tick('s0',t)
    cb.bootstrap_means(tw.y[tw.after], tw.codes[tw.after], G, n_boot=2000, entropy=1, stream=1, out=boot, sign=1.0, include=use)
    t=tick('s1',t)
    s1=boot.sum(axis=1,dtype=np.float64); ss=np.einsum("ij,ij->i", boot, boot, dtype=np.float64)
    t=tick('se',t)
    cb.bootstrap_interval(boot, ci=0.95, method="percentile")
    t=tick('sort',t)
    t0=time.perf_counter(); ce.bootstrap_change(data, "score", n_boot=2000, seed=1, min_n=2); T['total']=T.get('total',0)+time.perf_counter()-t0
print({k:round(v/5,4) for k,v in T.items()})
