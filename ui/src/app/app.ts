import {
  ChangeDetectionStrategy,
  Component,
  DestroyRef,
  OnInit,
  computed,
  inject,
  signal,
} from '@angular/core';
import { MatSnackBarModule } from '@angular/material/snack-bar';
import { MatTabsModule } from '@angular/material/tabs';
import { MatToolbarModule } from '@angular/material/toolbar';
import {
  mdiLanDisconnect,
  mdiRobotOffOutline,
  mdiServerNetworkOff,
  mdiWeatherSunny,
} from '@mdi/js';

import { GoalsCard } from './goals-card';
import { Icon } from './icon';
import { NowPage } from './now-page';
import { PvControlService } from './pvcontrol.service';
import { SessionsPage } from './sessions-page';

export type View = 'now' | 'goals' | 'sessions';
export const VIEWS: readonly { view: View; label: string }[] = [
  { view: 'now', label: 'Now' },
  { view: 'goals', label: 'Goals' },
  { view: 'sessions', label: 'Sessions' },
];

/** The view a location hash asks for (`#sessions`); the live page otherwise. */
export function viewOf(hash: string): View {
  const name = hash.replace(/^#/, '');
  return VIEWS.find((v) => v.view === name)?.view ?? 'now';
}

interface Banner {
  kind: 'connection' | 'broker' | 'controller' | 'connecting';
  icon: string;
  text: string;
}

/** The shell: toolbar, banners, the views (live, goals, sessions) as tabs in the location hash. */
@Component({
  selector: 'app-root',
  imports: [
    MatToolbarModule,
    MatTabsModule,
    MatSnackBarModule,
    Icon,
    NowPage,
    GoalsCard,
    SessionsPage,
  ],
  templateUrl: './app.html',
  styleUrl: './app.scss',
  changeDetection: ChangeDetectionStrategy.OnPush,
})
export class App implements OnInit {
  private readonly svc = inject(PvControlService);

  protected readonly sun = mdiWeatherSunny;
  protected readonly views = VIEWS;
  protected readonly view = signal<View>(viewOf(location.hash));

  private readonly doc = this.svc.state;
  protected readonly loaded = computed(() => this.doc() !== null);
  protected readonly version = computed(() => this.doc()?.version ?? '');
  private readonly controllerOnline = computed(() => {
    const d = this.doc();
    return !!d && (d.status?.controller === undefined || d.status.controller === 'online');
  });
  protected readonly controlsDisabled = computed(() => !this.loaded() || !this.controllerOnline());

  protected readonly banner = computed<Banner | null>(() => {
    const conn = this.svc.connection();
    if (conn === 'reconnecting') {
      return {
        kind: 'connection',
        icon: mdiLanDisconnect,
        text: 'No connection to pv-control. Reconnecting… Values shown may be outdated.',
      };
    }
    if (!this.loaded()) {
      return { kind: 'connecting', icon: mdiLanDisconnect, text: 'Connecting to pv-control…' };
    }
    const status = this.doc()?.status;
    if (status?.api !== undefined && status.api !== 'online') {
      return {
        kind: 'broker',
        icon: mdiServerNetworkOff,
        text: 'The gateway lost the MQTT broker. Values are not updated.',
      };
    }
    if (!this.controllerOnline()) {
      return {
        kind: 'controller',
        icon: mdiRobotOffOutline,
        // `unknown`: its status says online, but no state came lately (the gateway's liveness check)
        text:
          status?.controller === 'unknown'
            ? 'Controller not responding: charging may not be controlled, settings cannot be changed.'
            : 'Controller offline: charging is not being controlled, settings cannot be changed.',
      };
    }
    return null;
  });

  constructor() {
    const follow = () => this.view.set(viewOf(location.hash));
    window.addEventListener('hashchange', follow);
    inject(DestroyRef).onDestroy(() => window.removeEventListener('hashchange', follow));
  }

  ngOnInit(): void {
    this.svc.start();
  }

  protected show(view: View, event: Event): void {
    event.preventDefault();
    this.view.set(view);
    // the back button returns to the previous view; the live page has no hash
    history.pushState(null, '', view === 'now' ? location.pathname + location.search : `#${view}`);
  }
}
