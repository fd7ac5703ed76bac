"""Regenerates cpython_dst_rollovers.txt: python3.13 cpython_dst_rollovers.py > cpython_dst_rollovers.txt"""
import os, sys, time, datetime, logging.handlers, tempfile
os.environ['TZ']='EST+05EDT,M3.2.0,M11.1.0'; time.tzset()
DT=datetime.datetime
fn=tempfile.mktemp()
cases=[]
def run(when, interval, at, currents):
    at_t = datetime.time(*at) if at else None
    fh=logging.handlers.TimedRotatingFileHandler(fn, when=when, interval=interval, utc=False, atTime=at_t, delay=True)
    for c in currents:
        ts=int(c.timestamp())
        cases.append((when, interval, at, ts, fh.computeRollover(ts)))
    fh.close()
days=[DT(2012,3,10,23,59,59),DT(2012,3,11,0,0),DT(2012,3,11,1,0),DT(2012,3,11,1,59,59),DT(2012,3,11,3,0),DT(2012,3,11,4,0),
      DT(2012,11,3,23,59,59),DT(2012,11,4,0,0),DT(2012,11,4,1,0),DT(2012,11,4,1,29,59),DT(2012,11,4,1,30),DT(2012,11,4,1,0,fold=1),DT(2012,11,4,1,30,fold=1),DT(2012,11,4,2,0),DT(2012,11,4,3,0),
      DT(2012,3,4,2,0),DT(2012,10,28,2,0),DT(2012,3,10,2,30),DT(2012,3,8,12,0),DT(2012,10,28,12,0)]
for when in ['MIDNIGHT','W6']:
    for interval in [1,3]:
        for at in [None,(0,0,0),(12,0,0),(2,0,0),(2,30,0),(1,30,0)]:
            run(when, interval, at, days)
print('# when interval at_time current expected  (CPython %s, TZ=%s)' % (sys.version.split()[0], os.environ['TZ']))
for w,i,at,c,e in cases:
    a = '-' if at is None else '%02d:%02d:%02d' % at
    print(w, i, a, c, e)
