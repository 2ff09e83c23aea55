/**
 * The one module that touches @vscode/webview-ui-toolkit: registers the components the webviews use. Upstream
 * archived the toolkit (successor: @vscode-elements/elements); keeping it here makes the switch one file.
 */
import {
  provideVSCodeDesignSystem,
  vsCodeBadge,
  vsCodeButton,
  vsCodeCheckbox,
  vsCodeDropdown,
  vsCodeOption,
  vsCodeTextField,
} from '@vscode/webview-ui-toolkit';

export function registerToolkit(): void {
  provideVSCodeDesignSystem().register(
    vsCodeButton(),
    vsCodeTextField(),
    vsCodeDropdown(),
    vsCodeOption(),
    vsCodeCheckbox(),
    vsCodeBadge(),
  );
}
