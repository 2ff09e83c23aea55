import * as vscode from 'vscode';

/** What the user chose when a save found the key changed on the server. */
export type ConflictChoice = 'overwrite' | 'discard' | 'keepEditing';

/** A save that found the key changed (or deleted) since the editor read it. */
export interface ConflictQuestion {
  readonly message: string;
  /** The key was deleted meanwhile: overwriting recreates it. */
  readonly deleted: boolean;
  /** The value on the server now (undefined when deleted). */
  readonly serverValue?: Uint8Array;
  /** Shows the server's value beside the user's (the default prompt does this first). */
  compare(): Promise<void>;
}

/** The questions commands ask the user. Tests swap in answers through {@link Prompts.swap}. */
export interface PromptSet {
  /** A modal warning with one action: true when the user chose it. */
  confirm(message: string, detail: string | undefined, action: string): Promise<boolean>;
  /** A modal question with several actions: the one chosen, or undefined when dismissed. */
  ask(message: string, detail: string | undefined, ...actions: string[]): Promise<string | undefined>;
  /** An input box that accepts only `expected`, typed exactly: true when the user typed it. */
  typeToConfirm(title: string, expected: string): Promise<boolean>;
  /** Overwrite, discard or keep editing after a save conflict. */
  conflict(question: ConflictQuestion): Promise<ConflictChoice>;
}

const dialogs: PromptSet = {
  async confirm(message, detail, action) {
    return (await vscode.window.showWarningMessage(message, { modal: true, detail }, action)) === action;
  },
  async ask(message, detail, ...actions) {
    return vscode.window.showWarningMessage(message, { modal: true, detail }, ...actions);
  },
  async typeToConfirm(title, expected) {
    const typed = await vscode.window.showInputBox({
      title,
      validateInput: (v) => (v === expected ? undefined : 'Type it exactly to confirm.'),
    });
    return typed === expected;
  },
  async conflict(question) {
    await question.compare();
    const pick = await vscode.window.showWarningMessage(
      question.message,
      { modal: true, detail: 'Overwrite writes your version only if the key is still as shown in the diff.' },
      question.deleted ? 'Recreate' : 'Overwrite',
      'Discard My Changes',
      'Keep Editing',
    );
    if (pick === 'Overwrite' || pick === 'Recreate') return 'overwrite';
    if (pick === 'Discard My Changes') return 'discard';
    return 'keepEditing';
  },
};

/** The one prompts seam: modal dialogs by default; tests answer instead with {@link swap}. */
export class Prompts implements PromptSet {
  private answers: Partial<PromptSet> = {};

  confirm(message: string, detail: string | undefined, action: string): Promise<boolean> {
    return (this.answers.confirm ?? dialogs.confirm)(message, detail, action);
  }

  ask(message: string, detail: string | undefined, ...actions: string[]): Promise<string | undefined> {
    return (this.answers.ask ?? dialogs.ask)(message, detail, ...actions);
  }

  typeToConfirm(title: string, expected: string): Promise<boolean> {
    return (this.answers.typeToConfirm ?? dialogs.typeToConfirm)(title, expected);
  }

  conflict(question: ConflictQuestion): Promise<ConflictChoice> {
    return (this.answers.conflict ?? dialogs.conflict)(question);
  }

  /** Answers the given kinds of prompt with `answers` until the returned disposable is disposed. */
  swap(answers: Partial<PromptSet>): vscode.Disposable {
    const before = this.answers;
    this.answers = { ...before, ...answers };
    return { dispose: () => (this.answers = before) };
  }
}

/** The extension's prompts (exposed to tests through the extension API). */
export const prompts = new Prompts();
