// Settings: constructor options, configuration files and CLI flags, validated into MonitorSettings.
export {
  DEFAULT_SETTINGS,
  loadMonitorConfig,
  type MonitorConfigFile,
  type MonitorSettings,
  type PortCheck,
  parseMonitorConfig,
  type ResolvedPortCheck,
  resolveSettings,
  type SettingsInput,
} from './config';
