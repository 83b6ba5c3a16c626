#!/usr/bin/env python3
"""Lists Rust functions of MIN (default 100) lines or more, longest first:
`lines file:line name`. Usage: MIN=120 scripts/longest-functions.py [dir...] (default src).
Counts from the `fn` line to its closing brace (strings and comments skipped)."""
import re, sys, os
pat = re.compile(r'^\s*(pub(\([^)]*\))?\s+)?(const\s+)?(async\s+)?(unsafe\s+)?fn\s+(\w+)')
def strip(line, state):
    # remove string/char literals and comments roughly; state: in block comment
    out=[];i=0;n=len(line)
    while i<n:
        if state['bc']:
            j=line.find('*/',i)
            if j<0: return ''.join(out)
            state['bc']=False;i=j+2;continue
        c=line[i]
        if state['str']:
            if c=='\\': i+=2;continue
            if c=='"': state['str']=False
            i+=1;continue
        if line.startswith('//',i): break
        if line.startswith('/*',i): state['bc']=True;i+=2;continue
        m=re.match(r'r(#*)"',line[i:])
        if m and (i==0 or not (line[i-1].isalnum() or line[i-1]=='_')):
            close='"'+m.group(1);j=line.find(close,i+len(m.group(0)))
            if j<0: state['raw']=close; return ''.join(out)
            i=j+len(close);continue
        if c=='"': state['str']=True;i+=1;continue
        if c=="'" :
            m=re.match(r"'(\\.|[^\\'])'",line[i:])
            if m: i+=len(m.group(0));continue
        out.append(c);i+=1
    return ''.join(out)
res=[]
for root in sys.argv[1:] or ['src']:
    for dp,_,fs in os.walk(root):
        for f in fs:
            if not f.endswith('.rs'): continue
            p=os.path.join(dp,f);lines=open(p).read().split('\n')
            st={'bc':False,'str':False,'raw':None}
            clean=[]
            for l in lines:
                if st['raw']:
                    j=l.find(st['raw'])
                    if j<0: clean.append('');continue
                    l=l[j+len(st['raw']):];st['raw']=None
                clean.append(strip(l,st))
            for i,l in enumerate(lines):
                m=pat.match(l)
                if not m: continue
                depth=0;started=False
                for k in range(i,len(clean)):
                    c=clean[k]
                    if not started and ';' in c and '{' not in c: break
                    for ch in c:
                        if ch=='{': depth+=1;started=True
                        elif ch=='}': depth-=1
                    if started and depth<=0:
                        res.append((k-i+1,f'{p}:{i+1}',m.group(6)));break
res.sort(reverse=True)
th=int(os.environ.get('MIN','100'))
for r in res:
    if r[0]>=th: print(r[0],r[1],r[2])
