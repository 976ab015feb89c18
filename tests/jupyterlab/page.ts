// A JupyterLab 4 notebook page built from JupyterLab's own packages, as JupyterLab's
// examples/notebook builds one: the NotebookPanel, output areas, rendermime registry, cell
// executor and kernel connection of a student's JupyterLab 4 or Notebook 7, without the
// application shell (whose Python half is on PyPI, which this machine cannot reach).
// tests/lab-page.ts bundles it; tests/jupyterlab.test.ts drives it in Chromium.
import "@jupyterlab/notebook/style/index.css";
import "@jupyterlab/theme-light-extension/style/theme.css";

import {
  CodeMirrorEditorFactory, CodeMirrorMimeTypeService, EditorExtensionRegistry, EditorLanguageRegistry, EditorThemeRegistry, ybinding,
} from "@jupyterlab/codemirror";
import { PageConfig } from "@jupyterlab/coreutils";
import { DocumentManager } from "@jupyterlab/docmanager";
import { DocumentRegistry } from "@jupyterlab/docregistry";
import {
  NotebookActions, NotebookModelFactory, NotebookPanel, NotebookWidgetFactory, runCell, setCellExecutor, StaticNotebook,
} from "@jupyterlab/notebook";
import { RenderMimeRegistry, standardRendererFactories } from "@jupyterlab/rendermime";
import { ServerConnection, ServiceManager, type Event } from "@jupyterlab/services";
import { Stream } from "@lumino/signaling";
import { Widget } from "@lumino/widgets";
import { marked } from "marked";

/** An event bus that stays quiet: Debian's Jupyter Server (1.23) predates the events API (2.0) JupyterLab subscribes to. */
class NoEvents implements Event.IManager {
  readonly stream: Event.Stream = new Stream(this);
  isDisposed = false;
  constructor(readonly serverSettings: ServerConnection.ISettings) {}
  async emit(): Promise<void> {}
  dispose(): void { this.isDisposed = true; }
}

function editorFactory(languages: EditorLanguageRegistry): CodeMirrorEditorFactory {
  const themes = new EditorThemeRegistry();
  EditorThemeRegistry.getDefaultThemes().forEach((theme) => themes.addTheme(theme));
  const extensions = new EditorExtensionRegistry();
  EditorExtensionRegistry.getDefaultExtensions({ themes }).forEach((factory) => extensions.addExtension(factory));
  // Keeps each editor and its cell's shared model in step, as JupyterLab's editor plugin does.
  extensions.addExtension({
    name: "shared-model-binding",
    factory: (options) => {
      const shared = options.model.sharedModel as unknown as { ysource: any; undoManager: any };
      return EditorExtensionRegistry.createImmutableExtension(ybinding({ ytext: shared.ysource, undoManager: shared.undoManager ?? undefined }));
    },
  });
  return new CodeMirrorEditorFactory({ extensions, languages });
}

async function main(): Promise<void> {
  const manager = new ServiceManager({ events: new NoEvents(ServerConnection.makeSettings()) });
  await manager.ready;
  setCellExecutor({ runCell }); // what JupyterLab's notebook plugin installs
  const languages = new EditorLanguageRegistry();
  EditorLanguageRegistry.getDefaultLanguages().forEach((language) => languages.addLanguage(language));
  const rendermime = new RenderMimeRegistry({
    initialFactories: standardRendererFactories,
    markdownParser: { render: async (source: string) => marked.parse(source) },
  });
  const registry = new DocumentRegistry();
  const opener = { open: () => {}, get opened() { return { connect: () => false, disconnect: () => false } as any; } };
  const documents = new DocumentManager({ registry, manager, opener });
  registry.addModelFactory(new NotebookModelFactory({}));
  registry.addWidgetFactory(new NotebookWidgetFactory({
    name: "Notebook", modelName: "notebook", fileTypes: ["notebook"], defaultFor: ["notebook"], preferKernel: true, canStartKernel: true,
    rendermime, contentFactory: new NotebookPanel.ContentFactory({ editorFactory: editorFactory(languages).newInlineEditor }),
    mimeTypeService: new CodeMirrorMimeTypeService(languages),
    notebookConfig: { ...StaticNotebook.defaultNotebookConfig, windowingMode: "none" },
  }));
  const panel = documents.open(PageConfig.getOption("notebookPath")) as NotebookPanel;
  panel.addClass("jp-ThemedContainer");
  panel.node.style.height = "100vh";
  Widget.attach(panel, document.body);
  window.addEventListener("resize", () => panel.update());

  const notebook = panel.content;
  const cellState = (index: number) => {
    const cell = notebook.widgets[index];
    const model = cell.model as any;
    return { type: model.type, executionCount: model.executionCount ?? null, source: model.sharedModel.getSource() as string, output: cell.node.querySelector(".jp-OutputArea")?.textContent ?? "" };
  };
  // What JupyterLab's Run All, Run and Kernel → Interrupt commands call, for the test to press.
  (window as any).lab = {
    panel,
    status: () => ({ connection: panel.sessionContext.session?.kernel?.connectionStatus, kernel: panel.sessionContext.session?.kernel?.status, id: panel.sessionContext.session?.kernel?.id }),
    cells: () => notebook.widgets.map((_, i) => cellState(i)),
    cell: cellState,
    runAll: () => NotebookActions.runAll(notebook, panel.sessionContext),
    runNew: (source: string) => {
      notebook.activeCellIndex = notebook.widgets.length - 1;
      NotebookActions.insertBelow(notebook);
      notebook.activeCell!.model.sharedModel.setSource(source);
      void NotebookActions.run(notebook, panel.sessionContext);
      return notebook.activeCellIndex;
    },
    interrupt: () => panel.sessionContext.session?.kernel?.interrupt(),
    clearAll: () => NotebookActions.clearAllOutputs(notebook),
  };
}

window.addEventListener("load", () => void main());
