/**
 * docs/recipes: every YAML file parses, names Kiln's images, and holds the command lines the docker tests run
 * (images.test.ts, unprivileged-run.test.ts) — a recipe that drifts from what is tested fails here.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import {
  container, jenkinsPodYaml, jenkinsShellStep, kilnTarget, podContainers, readYaml, readYamlDocuments, recipesDir, shellWords,
} from './recipes.ts';

const executorArgs = ['--context=/workspace', '--dockerfile=Dockerfile'];
const destination = '--destination=registry.example.com/team/app:1.0';

test('every recipe file parses as YAML', () => {
  const files = fs.readdirSync(recipesDir).filter((f) => /\.ya?ml$/.test(f));
  assert.ok(files.length >= 6, files.join(' '));
  for (const file of files) assert.ok(readYamlDocuments(file).length > 0, file);
  assert.equal(jenkinsPodYaml().kind, 'Pod');
});

test('Kubernetes Pod: git init container, config.json secret, build secret, resource limits', () => {
  const pod = readYaml('kubernetes-pod.yaml');
  assert.equal(pod.kind, 'Pod');
  const kiln = container(pod, 'kiln');
  assert.equal(kilnTarget(kiln.image), 'executor');
  assert.deepEqual(kiln.args, [...executorArgs, '--secret=id=npmrc,src=/secrets/npmrc', destination]);
  assert.deepEqual(kiln.volumeMounts?.map((m) => m.mountPath), ['/workspace', '/kaniko/.docker', '/secrets']);
  assert.ok((kiln as { resources?: { limits?: unknown } }).resources?.limits);
  assert.equal(container(pod, 'clone').args?.[0], 'clone');
});

test('Kubernetes Job: the warmer fills the cache the executor reads', () => {
  const job = readYaml('kubernetes-job.yaml');
  assert.equal(job.kind, 'Job');
  assert.deepEqual(podContainers(job).map((c) => kilnTarget(c.image)), ['warmer', 'executor']);
  assert.deepEqual(container(job, 'kiln').args, [...executorArgs, '--cache=true', '--cache-dir=/cache', destination]);
  assert.ok(container(job, 'warm').args?.includes('--cache-dir=/cache'));
});

test('Kubernetes in place: all capabilities dropped but four, --isolation=none', () => {
  const kiln = container(readYaml('kubernetes-in-place.yaml'), 'kiln');
  assert.deepEqual(kiln.args, [...executorArgs, '--isolation=none', destination]);
  assert.deepEqual(kiln.securityContext?.capabilities, { drop: ['ALL'], add: ['CHOWN', 'FOWNER', 'SETUID', 'SETGID'] });
});

test('Tekton Task: one step with the executor and its flags from params and workspaces', () => {
  const task = readYaml('tekton-task.yaml');
  assert.equal(task.kind, 'Task');
  const [step] = task.spec.steps;
  assert.equal(kilnTarget(step.image), 'executor');
  assert.deepEqual(step.args.map((a: string) => a.split('=')[0]), ['--context', '--dockerfile', '--destination', '--digest-file']);
  assert.ok(task.spec.workspaces.some((w: { mountPath?: string }) => w.mountPath === '/kaniko/.docker'));
});

test('GitLab CI and Jenkins use the debug image and call /kaniko/executor from its shell', () => {
  const job = readYaml('gitlab-ci.yml').build;
  assert.equal(kilnTarget(job.image.name), 'debug');
  assert.match(job.script.at(-1), /^\/kaniko\/executor --context "\$\{CI_PROJECT_DIR\}"/);
  const [agent] = jenkinsPodYaml().spec.containers;
  assert.equal(kilnTarget(agent.image), 'debug');
  assert.deepEqual(agent.command, ['/busybox/cat']);
  assert.deepEqual(shellWords(jenkinsShellStep()).slice(0, 3), ['/kaniko/executor', '--context', '`pwd`']);
});

test('GitHub Actions: docker run of the executor image with the checkout as context', () => {
  const workflow = readYaml('github-actions.yml');
  const step = workflow.jobs.build.steps.find((s: { run?: string }) => s.run?.startsWith('docker run'));
  const words = shellWords(step.run);
  const image = words.find((w) => kilnTarget(w) !== undefined);
  assert.equal(kilnTarget(image ?? ''), 'executor');
  assert.deepEqual(words.slice(words.indexOf(image as string) + 1, -1), executorArgs);
  assert.ok(fs.existsSync(path.join(recipesDir, 'jenkins', 'Jenkinsfile')));
});
