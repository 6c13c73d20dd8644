import os, sys, time, collections
pid = sys.argv[1]; dur = float(sys.argv[2])
def snap():
    out = collections.Counter()
    for t in os.listdir(f'/proc/{pid}/task'):
        try:
            comm = open(f'/proc/{pid}/task/{t}/comm').read().strip()
            st = open(f'/proc/{pid}/task/{t}/stat').read()
            f = st[st.rindex(')')+2:].split()
            out[comm] += int(f[11]) + int(f[12])
        except Exception: pass
    return out
a = snap(); time.sleep(dur); b = snap()
tot = sum(b.values()) - sum(a.values())
for k in sorted(b, key=lambda k: -(b[k]-a.get(k,0)))[:12]:
    print(f"{k:20s} {(b[k]-a.get(k,0))/dur:6.1f}% cpu")
print('total', tot/dur, '%')
