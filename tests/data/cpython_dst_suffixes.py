"""Regenerates cpython_dst_suffixes.txt: python3.13 cpython_dst_suffixes.py > cpython_dst_suffixes.txt"""
import os, sys, time, datetime, logging.handlers, tempfile
os.environ['TZ']='EST+05EDT,M3.2.0,M11.1.0'; time.tzset()
out=[]
for when, at in [('MIDNIGHT',None),('MIDNIGHT',(23,30,0)),('MIDNIGHT',(0,30,0)),('H',None),('W6',None),('MIDNIGHT',(1,30,0))]:
    for start in [datetime.datetime(2012,3,10,12,0), datetime.datetime(2012,3,11,1,0), datetime.datetime(2012,11,3,12,0), datetime.datetime(2012,11,4,0,30), datetime.datetime(2012,11,4,1,45)]:
        d=tempfile.mkdtemp(); fn=os.path.join(d,'a.log')
        t0=int(start.timestamp())
        h=logging.handlers.TimedRotatingFileHandler(fn, when=when, atTime=datetime.time(*at) if at else None, delay=True)
        h.rolloverAt=h.computeRollover(t0)
        open(fn,'w').write('x\n')
        now=h.rolloverAt
        real=time.time
        time.time=lambda: now
        try: h.doRollover()
        finally: time.time=real
        names=[n for n in os.listdir(d) if n!='a.log']
        out.append((when, at, t0, names[0][len('a.log.'):]))
print('# when at_time start suffix  (CPython %s, TZ=%s)'%(sys.version.split()[0], os.environ['TZ']))
for w,a,t,s in out:
    print(w, '-' if a is None else '%02d:%02d:%02d'%a, t, s)
