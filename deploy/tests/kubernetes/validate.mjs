// Validates Kubernetes manifests offline against the API's schemas, two ways:
//
// - kubernetes-models' validators, compiled from the OpenAPI schemas of
//   Kubernetes and of the Prometheus Operator's CRDs: types, required fields,
//   enums and formats (a string where a number belongs, a missing selector);
// - the same packages' TypeScript types, through tsc: each object becomes a
//   typed literal, so a field the API does not have (a misspelt `hostPid`)
//   is an excess property error, which the schemas alone let through.
//
//   node validate.mjs FILE.yaml...
//
// Exits 1 naming the file, the object and the path of every problem.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
// The packages come from npm ci in this directory; without them, say so.
const { parseAllDocuments } = await import("yaml").catch(() => {
  console.error(`FAIL: the npm packages are missing: npm ci --prefix ${here} (scripts/test.sh runs it)`);
  process.exit(1);
});

// apiVersion/kind -> the module of its model and its interface.
const kinds = {
  "v1/ConfigMap": ["kubernetes-models/v1/ConfigMap", "ConfigMap"],
  "v1/Service": ["kubernetes-models/v1/Service", "Service"],
  "apps/v1/DaemonSet": ["kubernetes-models/apps/v1/DaemonSet", "DaemonSet"],
  "monitoring.coreos.com/v1/ServiceMonitor": [
    "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor", "ServiceMonitor"],
};

const problems = [];
const typed = [];  // [where, module, interface, object]

for (const file of process.argv.slice(2)) {
  const documents = parseAllDocuments(readFileSync(file, "utf8"));
  documents.forEach((document, index) => {
    for (const error of document.errors) problems.push(`${file}: document ${index + 1}: ${error.message}`);
    const object = document.toJS();
    if (!object) return;
    const where = `${file}: ${object.kind ?? "?"} ${object.metadata?.name ?? `#${index + 1}`}`;
    const kind = kinds[`${object.apiVersion}/${object.kind}`];
    if (!kind) {
      problems.push(`${where}: apiVersion ${object.apiVersion}, kind ${object.kind}: no schema known here`);
      return;
    }
    typed.push([where, ...kind, object]);
  });
}

for (const [where, module, name, object] of typed) {
  const Model = (await import(module))[name];
  try {
    new Model(object).validate();
  } catch (error) {
    problems.push(`${where}: ${error.message}`);
  }
}

// One .ts file: `export const o0: T0 = {...};` per object, and a tsconfig
// that resolves the packages from this directory's node_modules.
const dir = mkdtempSync(join(tmpdir(), "sonde-k8s-"));
try {
  const lines = typed.map(([, module, name], i) => `import type { I${name} as T${i} } from "${module}";`);
  const firstLine = [];  // the line of the generated file each object starts on
  typed.forEach(([, , , object], i) => {
    firstLine.push(lines.length + 1);
    lines.push(...`export const o${i}: T${i} = ${JSON.stringify(object, null, 1)};`.split("\n"));
  });
  writeFileSync(join(dir, "manifests.ts"), lines.join("\n") + "\n");
  const modules = join(here, "node_modules");
  writeFileSync(join(dir, "tsconfig.json"), JSON.stringify({
    compilerOptions: {
      noEmit: true, strict: true, skipLibCheck: true, module: "commonjs", moduleResolution: "node",
      target: "es2020", types: [], baseUrl: modules, paths: { "*": [`${modules}/*`] },
    },
    files: ["manifests.ts"],
  }));
  const owner = (line) => {
    let at = -1;
    firstLine.forEach((first, i) => { if (line >= first) at = i; });
    return at < 0 ? "imports" : typed[at][0];
  };
  try {
    execFileSync(process.execPath, [join(modules, "typescript", "bin", "tsc"), "-p", dir], { encoding: "utf8" });
  } catch (error) {
    for (const line of `${error.stdout}${error.stderr}`.split("\n")) {
      const m = /manifests\.ts\((\d+),\d+\): (error TS.*)/.exec(line);
      if (m) problems.push(`${owner(Number(m[1]))}: ${m[2]}`);
      else if (line.includes("error TS")) problems.push(line);
    }
    if (!problems.length) problems.push(`tsc failed: ${error.message}`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}

for (const p of problems) console.error(`FAIL: ${p}`);
if (problems.length) process.exit(1);
console.log(`${typed.length} objects valid (schemas and field names): ${typed.map(([w]) => w).join("; ")}`);
