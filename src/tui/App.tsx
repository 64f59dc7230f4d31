/**
 * The root of the live screen. It receives a data source (probe loop + analysis, built by
 * src/cli/commands/top.tsx or a test fake) and an actions object; it never reads /proc,
 * spawns or signals anything itself.
 */
import React, { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { Box, useApp, useInput } from 'ink';
import { DetailsPane, detailLines, historyRunId } from './components/DetailsPane.js';
import type { RunHistoryEntry } from '../analysis/run-history.js';
import { GpuTable, gpuLineCount } from './components/GpuTable.js';
import { Header } from './components/Header.js';
import { JobsPanel, jobLines } from './components/JobsPanel.js';
import { Block, StatusLine, auditLines, confirmLines, helpPageCount, helpScreenLines, lastActionLine, resultLines } from './components/Overlays.js';
import { Line, clipSegments } from './components/Line.js';
import { sanitizeText } from '../model/index.js';
import { ProcessTable } from './components/ProcessTable.js';
import { useData } from './hooks/use-data.js';
import { useTerminalSize, type TerminalSize } from './hooks/use-terminal-size.js';
import { keyIds } from './keymap.js';
import { planLayout, scrollTop } from './layout.js';
import { buildHostRows, buildRows, isLeftover, type Grouping } from './rows.js';
import { activeFilter, cursorIndexIn, handleKey, initialState, type Effect, type HostKeyData, type LastAction, type UiState } from './state.js';
import { summarizeByHost } from './targets.js';
import { ThemeContext } from './theme-context.js';
import { createTheme, type Theme } from './theme.js';
import type { ActionOutcome, ActionTarget, AuditRead, DataSource, SignalAction, TuiActions } from './types.js';
import { errorLine } from '../model/errors.js';

export interface AppProps {
  readonly source: DataSource;
  readonly actions: TuiActions;
  /** Show every user's processes (--all). */
  readonly allUsers?: boolean;
  readonly initialGrouping?: Grouping;
  /** Fixed size (tests); otherwise the terminal's, following resizes. */
  readonly size?: TerminalSize;
  readonly theme?: Theme;
  /** A message for the status line at start (e.g. why ./reaper.yaml is not used). */
  readonly notice?: string;
}

const ACTION_KEY: Record<SignalAction, LastAction['key']> = { kill: 'K', term: 'T', cont: 'c' };

/**
 * The last action of a K, T or c: its summary, and where its audit entries are (this machine's by
 * the pids it reported on; other hosts' in their own logs). `localHosts`: the names of this
 * machine on a several-host screen (null: this machine alone). Pure.
 */
export function signalLastAction(action: SignalAction, sinceMs: number, targets: readonly ActionTarget[], out: readonly ActionOutcome[] | null, text: string, tone: LastAction['tone'], localHosts: readonly string[] | null): LastAction {
  const isLocal = (h: string | undefined): boolean => localHosts === null || h === undefined || localHosts.includes(h);
  const pids = new Set<number>();
  const remote: string[] = [];
  for (const x of [...targets, ...(out ?? [])]) {
    if (isLocal(x.host)) pids.add(x.pid);
    else if (!remote.includes(x.host!)) remote.push(x.host!);
  }
  const n = targets.length;
  const summary = text.startsWith(`${action}: `) ? text.slice(action.length + 2) : text;
  return { key: ACTION_KEY[action], text: `${n} process${n === 1 ? '' : 'es'}: ${summary}`, tone, query: pids.size > 0 ? { sinceMs, pids: [...pids].sort((a, b) => a - b) } : null, remoteHosts: remote };
}

const oneLine = (e: unknown): string => errorLine(e, 200);

export function App(props: AppProps): React.ReactElement {
  const theme = props.theme ?? createTheme(true);
  return (
    <ThemeContext.Provider value={theme}>
      <Screen {...props} theme={theme} />
    </ThemeContext.Provider>
  );
}

function Screen({ source, actions, allUsers = false, initialGrouping = 'gpu', size, theme, notice }: AppProps & { theme: Theme }): React.ReactElement {
  const data = useData(source);
  const { columns: width, rows: height } = useTerminalSize(size);
  const { exit } = useApp();
  const [state, setState] = useState<UiState>(() => {
    const s = initialState(initialGrouping);
    return notice ? { ...s, message: { text: notice, tone: 'error' } } : s;
  });
  const stateRef = useRef(state);
  const topRef = useRef(0);
  const mounted = useRef(true);
  useEffect(
    () => () => {
      mounted.current = false;
    },
    [],
  );

  const update = useCallback((f: (s: UiState) => UiState) => {
    stateRef.current = f(stateRef.current);
    if (mounted.current) setState(stateRef.current);
  }, []);

  const filter = activeFilter(state);
  // Several hosts (--hosts): each host's data by name; rows grouped by host first.
  const hosts = data.hosts;
  const hostsMap = useMemo(
    () => (hosts ? new Map<string, HostKeyData>(hosts.map((h) => [h.name, { local: h.local, snapshot: h.data.link?.state === 'error' ? null : h.data.snapshot, verdicts: h.data.verdicts, runs: h.data.runs }])) : undefined),
    [hosts],
  );
  const rows = useMemo(() => {
    const opts = { grouping: state.grouping, filter, leftoversOnly: state.leftoversOnly, folded: state.folded, allUsers };
    if (hosts) return buildHostRows(hosts, opts);
    return buildRows({ snapshot: data.snapshot, gpu: data.gpu, verdicts: data.verdicts, runs: data.runs }, opts);
  }, [hosts, data.snapshot, data.gpu, data.verdicts, data.runs, state.grouping, filter, state.leftoversOnly, state.folded, allUsers]);
  const leftoverCount = useMemo(() => {
    let n = 0;
    const panes = hostsMap ? [...hostsMap.values()] : [{ snapshot: data.snapshot, verdicts: data.verdicts }];
    for (const { snapshot: s, verdicts } of panes) {
      if (!s) continue;
      for (const p of s.processes) if ((allUsers || p.uid === s.selfUid) && isLeftover(verdicts, p.pid)) n++;
    }
    return n;
  }, [hostsMap, data.snapshot, data.verdicts, allUsers]);
  const taggedLive = useMemo(() => {
    const out = new Set<string>();
    for (const [k, id] of state.tagged) {
      const s = id.host !== undefined ? hostsMap?.get(id.host)?.snapshot : data.snapshot;
      if (s?.byPid.get(id.pid)?.startTime === id.startTime) out.add(k);
    }
    return out;
  }, [data.snapshot, hostsMap, state.tagged]);
  const snapshots = useMemo(() => (hostsMap ? new Map([...hostsMap].map(([k, v]) => [k, v.snapshot])) : undefined), [hostsMap]);

  const cursor = cursorIndexIn(state, rows);
  // The details pane reads the cursor row's own host.
  const cursorHost = rows[cursor]?.host;
  const pane = cursorHost !== undefined ? (hosts?.find((h) => h.name === cursorHost)?.data ?? data) : data;
  const nowMs = data.snapshot?.takenAtMs ?? null;
  const jobs = hosts ? [] : jobLines(data.runs, nowMs, theme, actions.batchFile, data.slurm ?? null);
  // A run's history is read when the pane opens on a run's row, and again at most once per
  // refresh while it stays open (data.runs is a new value per process scan, not per key).
  const historyId = state.details ? historyRunId(rows[cursor]) : null;
  const history = useMemo((): RunHistoryEntry | null => {
    if (historyId === null || !source.readRunHistory) return null;
    try {
      return source.readRunHistory(historyId);
    } catch (e) {
      return { kind: 'unreadable', id: historyId, dir: '?', reason: oneLine(e) };
    }
  }, [historyId, source, data.runs]);
  const details = state.details
    ? detailLines({ row: rows[cursor], snapshot: pane.snapshot, verdicts: pane.verdicts, gpu: pane.gpu, runs: pane.runs, protection: pane.protection, history: pane === data || hosts?.find((h) => h.name === cursorHost)?.local ? history : null }, width, theme)
    : [];
  // The last action's entries: read when the overlay opens, and once per refresh while it stays
  // open (an outcome written after the screen's result shows up).
  const auditOpen = state.auditOpen ? state.lastAction : null;
  const auditRead = useMemo((): AuditRead | null => {
    if (!auditOpen?.query || !source.readAuditEntries) return null;
    try {
      return source.readAuditEntries(auditOpen.query);
    } catch (e) {
      return { entries: [], sources: [], skipped: 0, problems: [`the audit log could not be read: ${oneLine(e)}`] };
    }
  }, [auditOpen, source, data]);
  const layout = planLayout({
    actionLine: state.lastAction !== null,
    rows: height,
    gpuLines: hosts ? 0 : gpuLineCount(data.gpu, nowMs, data.probe.intervalMs),
    jobLines: jobs.length,
    detailLines: details.length,
    // A run's history is what the pane was opened for: it may take more of the screen.
    ...(history ? { detailShare: 0.6 } : {}),
  });
  const top = scrollTop(topRef.current, cursor, layout.tree, rows.length);
  topRef.current = top;

  const runEffect = (e: Effect): void => {
    const sinceMs = Date.now() - 1000;
    const localHosts = hosts ? hosts.filter((h) => h.local).map((h) => h.name) : null;
    const done = (text: string, tone: 'ok' | 'error', last?: LastAction): void => {
      // A result wider than the status line is shown whole, wrapped, until a key is pressed.
      const long = sanitizeText(text).length > width;
      update((s) => ({ ...s, busy: null, message: { text, tone }, result: long ? { text, tone } : null, ...(last ? { lastAction: last } : {}) }));
      source.refresh?.();
    };
    switch (e.kind) {
      case 'quit':
        exit();
        return;
      case 'signal':
        actions.signal(e.action, e.targets).then(
          (out) => {
            const text = summarizeByHost(e.action, out, e.targets);
            const tone = out.some((o) => o.outcome === 'survived' || o.outcome === 'kill-pending') ? 'error' : 'ok';
            done(text, tone, signalLastAction(e.action, sinceMs, e.targets, out, text, tone, localHosts));
          },
          (err: unknown) => {
            const text = `${e.action} failed: ${oneLine(err)}`;
            done(text, 'error', signalLastAction(e.action, sinceMs, e.targets, null, text, 'error', localHosts));
          },
        );
        return;
      case 'launch':
        actions.launch().then(
          (r) => done(`launched run ${r.runId} (detached; S stops it)`, 'ok'),
          (err: unknown) => done(`launch failed: ${oneLine(err)}`, 'error'),
        );
        return;
      case 'stop':
        {
          // S acts on this machine's runs only (state.ts refuses it on another host's row).
          const last = (text: string, tone: LastAction['tone']): LastAction => ({ key: 'S', text, tone, query: { sinceMs, run: e.runId }, remoteHosts: [] });
          actions.stop(e.runId).then(
            (msg) => done(msg, 'ok', last(msg, 'ok')),
            (err: unknown) => {
              const text = `stop ${e.runId} failed: ${oneLine(err)}`;
              done(text, 'error', last(text, 'error'));
            },
          );
        }
        return;
    }
  };

  useInput((input, key) => {
    for (const id of keyIds(input, key)) {
      const t = handleKey(stateRef.current, id, {
        rows,
        snapshot: data.snapshot,
        verdicts: data.verdicts,
        runs: data.runs,
        allUsers,
        pageSize: layout.tree,
        readonly: actions.readonly,
        batchFile: actions.batchFile,
        helpPages: helpPageCount(width, layout.total - layout.header - layout.status),
        ...(hostsMap ? { hosts: hostsMap } : {}),
      });
      if (t.state !== stateRef.current) update(() => t.state);
      if (t.effect) runEffect(t.effect);
    }
  });

  const header = (
    <Header
      width={width}
      host={data.host}
      probe={data.probe}
      grouping={state.grouping}
      leftovers={leftoverCount}
      tagged={taggedLive.size}
      filter={filter}
      leftoversOnly={state.leftoversOnly}
      readonly={actions.readonly}
      processCount={hostsMap ? [...hostsMap.values()].reduce((n, h) => n + (h.snapshot?.processes.length ?? 0), 0) : data.snapshot ? data.snapshot.processes.length : null}
      gpu={data.gpu}
      nowMs={nowMs}
      {...(hosts ? { hosts } : {})}
    />
  );
  const status = <StatusLine width={width} filterDraft={state.filterDraft} busy={state.busy} message={state.message} readonly={actions.readonly} />;
  const bodyHeight = layout.total - layout.header - layout.status;

  if (state.help) {
    return (
      <Box flexDirection="column" width={width}>
        {header}
        <Block lines={helpScreenLines(width, bodyHeight, theme, state.helpPage)} width={width} height={bodyHeight} />
        {layout.status > 0 ? status : null}
      </Box>
    );
  }
  const lowerHeight = layout.tableHeader + layout.tree + layout.details;
  return (
    <Box flexDirection="column" width={width}>
      {header}
      <GpuTable gpu={data.gpu} width={width} height={layout.gpu} nowMs={nowMs} intervalMs={data.probe.intervalMs} />
      <JobsPanel runs={data.runs} slurm={data.slurm ?? null} width={width} height={layout.jobs} nowMs={nowMs} batchFile={actions.batchFile} />
      {state.result ? (
        <Block lines={resultLines(state.result, width, lowerHeight, theme)} width={width} height={lowerHeight} />
      ) : auditOpen ? (
        <Block lines={auditLines(auditOpen, auditRead, lowerHeight, theme)} width={width} height={lowerHeight} />
      ) : state.confirm ? (
        <Block lines={confirmLines(state.confirm, lowerHeight, theme, width)} width={width} height={lowerHeight} />
      ) : lowerHeight > 0 ? (
        <>
          <ProcessTable
            rows={rows}
            cursor={cursor}
            top={top}
            height={layout.tree}
            width={width}
            tagged={taggedLive}
            snapshot={data.snapshot}
            {...(snapshots ? { snapshots } : {})}
            emptyText={data.snapshot || hosts ? (filter !== '' || state.leftoversOnly ? 'no process matches' : 'no processes in this view (g switches the grouping)') : 'scanning…'}
          />
          <DetailsPane lines={details} width={width} height={layout.details} />
        </>
      ) : null}
      {layout.action > 0 && state.lastAction ? <Line segments={clipSegments(lastActionLine(state.lastAction, theme), width)} /> : null}
      {layout.status > 0 ? status : null}
    </Box>
  );
}

