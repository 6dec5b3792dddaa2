#!/usr/bin/env python3
"""One-record-per-request produce: broker CPU per record of two `vltava` binaries, alternated.

Usage: scripts/bench_handoff.py BEFORE_BINARY AFTER_BINARY [ROUNDS]

Each run starts `vltava serve` on a free loopback port with a fresh data folder, sends 1 KiB records at 50 MB/s for
5 s with linger.ms=0 (one record per Produce request), acks=all then acks=1, and prints the broker's CPU
(utime+stime from /proc) per record and the delivery latency p50/p99. It isolates the per-request cost of moving a
request to the request-handler pool and back (docs/reliability.md). Needs confluent-kafka (.venv).
"""
import os, sys, time, subprocess, tempfile, socket, shutil
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic
def free_port():
    s=socket.socket(); s.bind(("127.0.0.1",0)); p=s.getsockname()[1]; s.close(); return p
def cpu(pid):
    f=open(f"/proc/{pid}/stat").read().rsplit(")",1)[1].split()
    return (int(f[11])+int(f[12]))/os.sysconf("SC_CLK_TCK")
def run(binary, acks, seconds=5, rate=50e6, size=1024):
    d=tempfile.mkdtemp(); port=free_port()
    p=subprocess.Popen([binary,"serve","--listeners",f"PLAINTEXT://127.0.0.1:{port}","--data-dir",d,"--schema-registry-listeners","none"],stdout=subprocess.DEVNULL,stderr=subprocess.DEVNULL)
    b=f"127.0.0.1:{port}"
    for _ in range(100):
        try:
            a=AdminClient({"bootstrap.servers":b}); a.create_topics([NewTopic("t",1)])["t"].result(5); break
        except Exception: time.sleep(0.1)
    pr=Producer({"bootstrap.servers":b,"acks":acks,"linger.ms":0,"enable.idempotence":False})
    payload=b"x"*size
    lat=[]
    def cb(err,msg):
        if err is None: lat.append(msg.latency())
    # warmup
    for i in range(1000): pr.produce("t",payload,callback=cb); pr.poll(0)
    pr.flush(); lat.clear()
    c0=cpu(p.pid); t0=time.time(); n=0
    interval=size/rate
    while time.time()-t0<seconds:
        target=t0+n*interval
        now=time.time()
        if now<target: time.sleep(target-now)
        pr.produce("t",payload,callback=cb); n+=1; pr.poll(0)
    pr.flush()
    c1=cpu(p.pid)
    p.terminate(); p.wait(); shutil.rmtree(d)
    lat.sort()
    return n, (c1-c0)/n*1e6, lat[len(lat)//2]*1000, lat[int(len(lat)*0.99)]*1000
if len(sys.argv) < 3:
    sys.exit(__doc__)
for rnd in range(int(sys.argv[3]) if len(sys.argv)>3 else 2):
    for name,binary in (("before",sys.argv[1]),("after",sys.argv[2])):
        for acks in ("all","1"):
            n,us,p50,p99=run(binary,acks)
            print(f"{name:6s} acks={acks:3s} n={n} broker µs/record={us:6.2f} p50={p50:.2f}ms p99={p99:.2f}ms", flush=True)
