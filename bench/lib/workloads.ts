/**
 * The RUN workloads of bench/run-builds.ts: each is a build context (a Dockerfile, sometimes files) on one of
 * the bench's base images.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

export interface Workload {
  key: string;
  title: string;
  /** Base image names the Dockerfile uses (keys of the bench's base table). */
  bases: string[];
  dockerfile: string;
  /** Builds of this workload per builder. */
  runs: number;
}

export interface WorkloadSizes {
  runs: number;
  aptRuns: number;
  bigFileMiB: number;
  treeSizes: number[];
}

export const busyboxName = 'docker.io/library/busybox:latest';
export const debianName = 'docker.io/library/debian:bookworm';
export const treeName = (files: number): string => `docker.io/library/kiln-bench-tree${files}:latest`;

/** 20 RUN steps, each writing five small files into its own directory. */
function manyRunSteps(): string {
  const lines = [`FROM ${busyboxName}`];
  for (let i = 1; i <= 20; i++) {
    lines.push(`RUN mkdir -p /data/s${i} && for j in 1 2 3 4 5; do echo "step ${i} file $j" > /data/s${i}/f$j; done`);
  }
  return `${lines.join('\n')}\n`;
}

export function workloads(sizes: WorkloadSizes): Workload[] {
  const list: Workload[] = [
    { key: 'a', title: '(a) 20 RUN steps on busybox, 5 small files each', bases: [busyboxName], dockerfile: manyRunSteps(), runs: sizes.runs },
    {
      key: 'b', title: '(b) Debian bookworm: apt-get update && apt-get install -y --no-install-recommends less tree netbase',
      bases: [debianName],
      dockerfile: `FROM ${debianName}\nRUN apt-get update && apt-get install -y --no-install-recommends less tree netbase && rm -rf /var/lib/apt/lists/*\n`,
      runs: sizes.aptRuns,
    },
    {
      key: 'c', title: '(c) one RUN creating 20,000 files (200 dirs × 100) on busybox', bases: [busyboxName],
      dockerfile: `FROM ${busyboxName}\nRUN mkdir /many && cd /many && for d in $(seq 1 200); do mkdir $d; for f in $(seq 1 100); do echo "$d $f" > $d/$f; done; done\n`,
      runs: sizes.runs,
    },
  ];
  for (const files of sizes.treeSizes) {
    list.push({
      key: `d${files}`, title: `(d) one-file RUN steps on a rootfs of ${files} files (FROM + 2 RUN, each appending to one file)`,
      bases: [treeName(files)],
      dockerfile: `FROM ${treeName(files)}\nRUN echo b=1 >> /etc/config\nRUN echo c=2 >> /etc/config\n`,
      runs: sizes.runs,
    });
  }
  list.push({
    key: 'e', title: `(e) one RUN writing a ${sizes.bigFileMiB} MiB file from /dev/urandom on busybox`, bases: [busyboxName],
    dockerfile: `FROM ${busyboxName}\nRUN dd if=/dev/urandom of=/big bs=1M count=${sizes.bigFileMiB} 2>/dev/null && ls -l /big\n`,
    runs: sizes.runs,
  });
  return list;
}

/** A context directory holding only `dockerfile`. */
export function writeContext(parent: string, workload: Workload): string {
  const dir = path.join(parent, `context-${workload.key}`);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'Dockerfile'), workload.dockerfile);
  return dir;
}

/**
 * The context of a base image with `files` small files (100 per directory, like bench/snapshot.ts) on busybox,
 * plus /etc/config that the (d) steps append to.
 */
export function writeTreeContext(parent: string, files: number): string {
  const dir = path.join(parent, `tree-context-${files}`);
  const root = path.join(dir, 'tree');
  const content = Buffer.from('#!/bin/sh\n# generated file for the RUN benchmark\n'.repeat(4));
  for (let i = 0; i < files; i++) {
    const sub = path.join(root, `usr/share/bench/d${Math.floor(i / 10000)}/s${Math.floor(i / 100) % 100}`);
    if (i % 100 === 0) fs.mkdirSync(sub, { recursive: true });
    fs.writeFileSync(path.join(sub, `f${i}`), content);
  }
  fs.mkdirSync(path.join(root, 'etc'), { recursive: true });
  fs.writeFileSync(path.join(root, 'etc/config'), 'a=1\n');
  fs.writeFileSync(path.join(dir, 'Dockerfile'), `FROM ${busyboxName}\nCOPY tree/ /\n`);
  return dir;
}
