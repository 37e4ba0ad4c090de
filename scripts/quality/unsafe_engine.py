#!/usr/bin/env python3
"""unsafe_content figures through the engine API (the `unsafe_scores` example), for when the CLI
is not built; `eval.py unsafe` (sentinel check --jsonl) is the product figure.

    cargo build --release -p sentinel-engine --example unsafe_scores
    python3 scripts/quality/unsafe_engine.py test balanced 0.5 [-s] [-v]
"""
import collections
import json
import os
import subprocess
import sys

split,mode=sys.argv[1],sys.argv[2]
thr=float(sys.argv[3]) if len(sys.argv)>3 else 0.5
path=os.path.join(os.environ.get('SENTINEL_QUALITY_DIR', '/var/tmp/sentinel-quality'), 'unsafe', f'{split}.jsonl')
rows={json.loads(l)['id']:json.loads(l) for l in open(path)}
out=subprocess.run([os.path.join(os.environ.get('CARGO_TARGET_DIR', 'target'), 'release', 'examples', 'unsafe_scores'),path,mode],capture_output=True,text=True).stdout
sc={}
for l in out.splitlines():
    i,s,e=l.split('\t'); sc[i]=(float(s),e)
pos=[r for r in rows.values() if r['label']!='benign']; neg=[r for r in rows.values() if r['label']=='benign']
fire=lambda r: sc[r['id']][0]>=thr
print(f'{split} {mode} thr {thr}: recall {sum(map(fire,pos))}/{len(pos)} = {sum(map(fire,pos))/len(pos):.3f}')
bs=collections.defaultdict(list)
for r in neg: bs[r['source']].append(fire(r))
for s,v in sorted(bs.items()): print(f'  FPR {s}: {sum(v)}/{len(v)} = {sum(v)/len(v):.3f}')
print(f'  FPR all: {sum(map(fire,neg))}/{len(neg)} = {sum(map(fire,neg))/len(neg):.3f}')
negs=sorted((sc[r['id']][0] for r in neg),reverse=True)
for fpr in (0.01,0.02,0.05):
    t=negs[int(fpr*len(negs))]; print(f'  @{fpr}: recall {sum(1 for r in pos if sc[r["id"]][0]>t)/len(pos):.3f} thr {t:.3f}')
same=sum(1 for r in pos if r['label'] in sc[r['id']][1].split(','))
print(f'  same category {same}/{len(pos)}')
if '-v' in sys.argv:
    print('MISSED:'); [print('  ',r['label'],sc[r['id']],r['text'][:120].replace('\n',' ')) for r in pos if not fire(r)]
    print('FP:'); [print('  ',r['source'],sc[r['id']],r['text'][:120].replace('\n',' ')) for r in neg if fire(r)]
if '-s' in sys.argv:
    g=collections.defaultdict(list)
    for r in pos: g['src '+r['source']].append(fire(r)); g['cat '+r['label']].append(fire(r))
    for k,v in sorted(g.items()): print(f'  {k}: {sum(v)}/{len(v)} = {sum(v)/len(v):.2f}')
