import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mergeVolumeLists, parseVolumeRef, withNode } from './volumes-merge.js';

const vol = (Name: string, Mountpoint = `/var/lib/docker/volumes/${Name}/_data`) => ({ Name, Driver: 'local', Mountpoint, Labels: null, Scope: 'local', Options: null });
const tb1 = { id: 'n1', name: 'tb1' };
const tb2 = { id: 'n2', name: 'tb2' };

describe('mergeVolumeLists', () => {
  it('one engine: a name once, the first engine’s volume winning, names as the engine gave them', () => {
    const merged = mergeVolumeLists([
      { node: tb1, body: { Volumes: [vol('data', '/local')], Warnings: null } },
      { node: tb2, body: { Volumes: [vol('data', '/remote'), vol('other')], Warnings: null } },
    ]);
    assert.deepEqual(
      merged.Volumes.map((v) => [v.Name, v['Mountpoint']]),
      [
        ['data', '/local'],
        ['other', '/var/lib/docker/volumes/other/_data'],
      ],
    );
    assert.equal(merged.Volumes[0]?.['Status'], undefined);
  });

  it('a cluster: every node’s volume as <node>/<name> with Status.Node, same-named volumes on two hosts both listed', () => {
    const merged = mergeVolumeLists(
      [
        { node: tb1, body: { Volumes: [vol('data', '/a')], Warnings: null } },
        { node: tb2, body: { Volumes: [{ ...vol('data', '/b'), Status: { driver: { x: 1 } } }, vol('other')], Warnings: null } },
      ],
      [],
      { cluster: true },
    );
    assert.deepEqual(
      merged.Volumes.map((v) => [v.Name, v['Mountpoint'], v['Status']]),
      [
        ['tb1/data', '/a', { Node: { ID: 'n1', Name: 'tb1' } }],
        ['tb2/data', '/b', { driver: { x: 1 }, Node: { ID: 'n2', Name: 'tb2' } }],
        ['tb2/other', '/var/lib/docker/volumes/other/_data', { Node: { ID: 'n2', Name: 'tb2' } }],
      ],
    );
  });

  it('the node filter keeps the nodes named by hostname or id', () => {
    const lists = [
      { node: tb1, body: { Volumes: [vol('a1')] } },
      { node: tb2, body: { Volumes: [vol('b1')] } },
    ];
    assert.deepEqual(mergeVolumeLists(lists, [], { cluster: true, nodes: ['tb2'] }).Volumes.map((v) => v.Name), ['tb2/b1']);
    assert.deepEqual(mergeVolumeLists(lists, [], { cluster: true, nodes: ['n1'] }).Volumes.map((v) => v.Name), ['tb1/a1']);
  });

  it('always answers Warnings as a list, with the engines’ and our own', () => {
    assert.deepEqual(mergeVolumeLists([{ node: tb1, body: { Volumes: [], Warnings: null } }]).Warnings, []);
    assert.deepEqual(mergeVolumeLists([{ node: tb1, body: { Volumes: null, Warnings: ['w1'] } }], ['node tb2 did not answer']).Warnings, ['w1', 'node tb2 did not answer']);
  });

  it('fills Labels and Options the 1.41 engines leave null', () => {
    const [v] = mergeVolumeLists([{ node: tb1, body: { Volumes: [vol('x1')] } }]).Volumes;
    assert.deepEqual(v?.['Labels'], {});
    assert.deepEqual(v?.['Options'], {});
  });
});

describe('parseVolumeRef / withNode', () => {
  it('splits <node>/<name> at the first slash; a bare name has no node', () => {
    assert.deepEqual(parseVolumeRef('tb2/data'), { node: 'tb2', name: 'data' });
    assert.deepEqual(parseVolumeRef('data'), { name: 'data' });
    assert.deepEqual(parseVolumeRef('/data'), { name: '/data' });
  });

  it('puts the node in Status.Node as an object, keeping the driver’s status', () => {
    const v = withNode({ Name: 'd', Status: { hello: { a: 1 } } }, tb2);
    assert.deepEqual(v['Status'], { hello: { a: 1 }, Node: { ID: 'n2', Name: 'tb2' } });
  });
});
