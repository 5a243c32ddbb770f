import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";

/**
 * Just enough of a Dockerfile interpreter to run a Dockerfile's stages without a container
 * engine: each stage's file system is a directory, COPY copies (from the build context or from
 * another stage's directory), RUN runs the command with `sh -c` in the stage's working directory
 * with the stage's ARG and ENV values, on this machine's node and npm.
 */
export interface Instruction {
  op: string;
  args: string;
}

export interface Stage {
  name: string;
  from: string;
  instructions: Instruction[];
}

export interface Dockerfile {
  globalArgs: Record<string, string>;
  stages: Stage[];
}

export function parseDockerfile(text: string): Dockerfile {
  const lines = text.replace(/\\\n/g, " ").split("\n").map((l) => l.trim()).filter((l) => l && !l.startsWith("#"));
  const globalArgs: Record<string, string> = {};
  const stages: Stage[] = [];
  for (const line of lines) {
    const [, op, args] = /^(\w+)\s+(.*)$/.exec(line) ?? [];
    if (!op || args === undefined) throw new Error(`cannot parse: ${line}`);
    const upper = op.toUpperCase();
    if (upper === "FROM") {
      const m = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args);
      if (!m) throw new Error(`cannot parse: ${line}`);
      stages.push({ from: m[1]!, name: m[2] ?? String(stages.length), instructions: [] });
    } else if (stages.length === 0) {
      if (upper !== "ARG") throw new Error(`${upper} before FROM`);
      const [k, v] = args.split("=", 2) as [string, string | undefined];
      globalArgs[k] = v ?? "";
    } else {
      stages[stages.length - 1]!.instructions.push({ op: upper, args });
    }
  }
  return { globalArgs, stages };
}

/** ${VAR} and $VAR, as Docker substitutes them in COPY, WORKDIR, ENV and FROM. */
export function substitute(s: string, vars: Record<string, string>): string {
  return s.replace(/\$\{(\w+)\}|\$(\w+)/g, (_m, a: string | undefined, b: string | undefined) => vars[(a ?? b)!] ?? "");
}

export interface RunOptions {
  /** The build context (COPY sources without --from). */
  context: string;
  /** Paths ignored by COPY from the context (.dockerignore patterns of the forms used here). */
  ignore: string[];
  /** --build-arg values. */
  buildArgs: Record<string, string>;
  /** Directories standing in for stages not run here: name -> directory holding its root. */
  stageRoots: Record<string, string>;
  /** Where each stage run here gets its root directory. */
  workDir: string;
}

export interface StageResult {
  root: string;
  workdir: string;
  env: Record<string, string>;
  user?: string;
  cmd?: string[];
}

/** Runs one stage and returns where its file system is. */
export function runStage(file: Dockerfile, name: string, opts: RunOptions): StageResult {
  const stage = file.stages.find((s) => s.name === name);
  if (!stage) throw new Error(`no stage ${name}`);
  const root = path.join(opts.workDir, name);
  fs.rmSync(root, { recursive: true, force: true });
  fs.mkdirSync(root, { recursive: true });
  const args: Record<string, string> = {};
  const env: Record<string, string> = {};
  let workdir = "/";
  const result: StageResult = { root, workdir, env };
  const vars = () => ({ ...args, ...env });
  const inRoot = (p: string) => path.join(root, p.startsWith("/") ? p : path.join(workdir, p));

  for (const { op, args: raw } of stage.instructions) {
    switch (op) {
      case "ARG": {
        const [k, v] = raw.split("=", 2) as [string, string | undefined];
        args[k] = opts.buildArgs[k] ?? v ?? file.globalArgs[k] ?? "";
        break;
      }
      case "ENV": {
        const [k, v] = raw.split("=", 2) as [string, string | undefined];
        env[k] = substitute(v ?? "", vars());
        break;
      }
      case "WORKDIR":
        workdir = path.posix.resolve(workdir, substitute(raw, vars()));
        fs.mkdirSync(inRoot(workdir), { recursive: true });
        break;
      case "COPY": {
        const words = raw.split(/\s+/).map((w) => substitute(w, vars()));
        const fromFlag = words.find((w) => w.startsWith("--from="));
        const paths = words.filter((w) => !w.startsWith("--"));
        const dest = paths.pop()!;
        const fromRoot = fromFlag ? (opts.stageRoots[fromFlag.slice(7)] ?? path.join(opts.workDir, fromFlag.slice(7))) : opts.context;
        const target = inRoot(dest);
        const intoDir = dest.endsWith("/") || paths.length > 1 || dest === "." || dest === "./";
        for (const src of paths) {
          const from = path.join(fromRoot, src);
          if (!fs.existsSync(from)) throw new Error(`COPY ${src}: not found in ${fromFlag ?? "the context"}`);
          const isDir = fs.statSync(from).isDirectory();
          const to = intoDir && !isDir ? path.join(target, path.basename(src)) : target;
          fs.mkdirSync(isDir ? to : path.dirname(to), { recursive: true });
          copy(from, to, fromFlag ? [] : opts.ignore, fromRoot);
        }
        break;
      }
      case "RUN":
        execFileSync("sh", ["-c", raw], {
          cwd: inRoot(workdir),
          env: { ...process.env, ...args, ...env },
          stdio: ["ignore", "pipe", "pipe"],
          maxBuffer: 64 * 1024 * 1024,
        });
        break;
      case "USER":
        result.user = raw;
        break;
      case "CMD":
        result.cmd = JSON.parse(raw) as string[];
        break;
      case "EXPOSE":
        break;
      default:
        throw new Error(`unsupported instruction ${op}`);
    }
  }
  result.workdir = workdir;
  return result;
}

/** Copies a file or a directory's contents, keeping symlinks, hard-linking files (fast, no extra space). */
function copy(from: string, to: string, ignore: string[], contextRoot: string): void {
  if (ignore.length === 0) {
    const src = fs.statSync(from).isDirectory() ? `${from}/.` : from;
    try {
      execFileSync("cp", ["-a", "--link", src, to], { stdio: "ignore" });
    } catch {
      // Another file system: hard links are impossible, copy.
      execFileSync("cp", ["-a", src, to]);
    }
    return;
  }
  fs.cpSync(from, to, {
    recursive: true,
    verbatimSymlinks: true,
    filter: (src) => !ignored(path.relative(contextRoot, src), ignore),
  });
}

/** The two .dockerignore forms used here: `**\/name` (anywhere) and `path` (from the root). */
export function ignored(rel: string, patterns: string[]): boolean {
  if (rel === "") return false;
  const parts = rel.split(path.sep);
  return patterns.some((p) => {
    if (p.startsWith("**/")) {
      const name = p.slice(3);
      return name.startsWith("*.") ? parts.some((x) => x.endsWith(name.slice(1))) : parts.includes(name);
    }
    return rel === p || rel.startsWith(`${p}/`);
  });
}

export function readIgnore(file: string): string[] {
  return fs
    .readFileSync(file, "utf8")
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith("#"));
}
