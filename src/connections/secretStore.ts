import * as vscode from 'vscode';

/** Passwords live only in VS Code's SecretStorage (the OS keychain), keyed by profile id. */
export class SecretStore {
  constructor(private readonly storage: vscode.SecretStorage) {}

  getPassword(profileId: string): Thenable<string | undefined> {
    return this.storage.get(this.key(profileId));
  }

  setPassword(profileId: string, password: string): Thenable<void> {
    return this.storage.store(this.key(profileId), password);
  }

  deletePassword(profileId: string): Thenable<void> {
    return this.storage.delete(this.key(profileId));
  }

  private key(profileId: string): string {
    return `etcd.connection.${profileId}.password`;
  }
}
