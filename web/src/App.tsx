import { useEffect, type ReactNode } from 'react';

import { isStaff, useAuth } from './auth';
import { ConfirmEmailPage } from './pages/ConfirmEmail';
import { HistoryPage } from './pages/History';
import { InterviewPage } from './pages/Interview';
import { LiveRoomsPage } from './pages/LiveRooms';
import { NewInterviewPage } from './pages/NewInterview';
import { SignInPage } from './pages/SignIn';
import { SignUpPage } from './pages/SignUp';
import { StaffInterviewsPage } from './pages/StaffInterviews';
import { Link, matchPath, navigate, useLocation } from './router';

interface Route {
  pattern: string;
  title: string;
  render: (params: Record<string, string>) => ReactNode;
  access: 'public' | 'user' | 'staff';
}

const ROUTES: Route[] = [
  { pattern: '/sign-in', title: 'Sign in', access: 'public', render: () => <SignInPage /> },
  { pattern: '/sign-up', title: 'Sign up', access: 'public', render: () => <SignUpPage /> },
  { pattern: '/confirm-email', title: 'Confirm your email', access: 'public', render: () => <ConfirmEmailPage /> },
  { pattern: '/', title: 'New interview', access: 'user', render: () => <NewInterviewPage /> },
  { pattern: '/history', title: 'Your interviews', access: 'user', render: () => <HistoryPage /> },
  { pattern: '/interviews/:id', title: 'Interview', access: 'user', render: (p) => <InterviewPage key={p.id} sessionId={p.id ?? ''} /> },
  { pattern: '/staff/interviews', title: 'All interviews', access: 'staff', render: () => <StaffInterviewsPage /> },
  { pattern: '/staff/rooms', title: 'Live rooms', access: 'staff', render: () => <LiveRoomsPage /> },
];

function Redirect({ to }: { to: string }) {
  useEffect(() => {
    navigate(to, { replace: true });
  }, [to]);
  return null;
}

export function App() {
  const { path, query } = useLocation();
  const { user } = useAuth();
  const found = ROUTES.map((route) => ({ route, params: matchPath(route.pattern, path) })).find((m) => m.params);

  useEffect(() => {
    document.title = found ? `${found.route.title} · CodeVoice` : 'Not found · CodeVoice';
  }, [found]);

  let content: ReactNode;
  if (!found) {
    content = (
      <section aria-labelledby="not-found">
        <h1 id="not-found">Page not found</h1>
        <p>
          <Link to="/">Go to the start page</Link>
        </p>
      </section>
    );
  } else if (found.route.access !== 'public' && user === undefined) {
    content = <p role="status">Loading your account…</p>;
  } else if (found.route.access !== 'public' && user === null) {
    content = <Redirect to={`/sign-in?next=${encodeURIComponent(path + (query.size ? `?${query}` : ''))}`} />;
  } else if (found.route.access === 'staff' && !isStaff(user)) {
    content = (
      <section aria-labelledby="forbidden">
        <h1 id="forbidden">Recruiters only</h1>
        <p>This page is for recruiters and administrators.</p>
      </section>
    );
  } else {
    content = found.route.render(found.params ?? {});
  }

  return (
    <>
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <Header />
      <main id="main" tabIndex={-1}>
        {content}
      </main>
    </>
  );
}

function Header() {
  const { user, signOut } = useAuth();
  const { path } = useLocation();
  const item = (to: string, label: string) => (
    <li>
      <Link to={to} aria-current={path === to ? 'page' : undefined}>
        {label}
      </Link>
    </li>
  );
  return (
    <header className="site-header">
      <Link to="/" className="brand">
        CodeVoice
      </Link>
      {user ? (
        <nav aria-label="Main">
          <ul>
            {item('/', 'New interview')}
            {item('/history', 'Your interviews')}
            {isStaff(user) && item('/staff/interviews', 'All interviews')}
            {isStaff(user) && item('/staff/rooms', 'Live rooms')}
            <li>
              <button type="button" className="link-button" onClick={() => void signOut()} data-testid="sign-out">
                Sign out <span className="visually-hidden">{user.display_name}</span>
              </button>
            </li>
          </ul>
        </nav>
      ) : (
        <nav aria-label="Account">
          <ul>
            {item('/sign-in', 'Sign in')}
            {item('/sign-up', 'Sign up')}
          </ul>
        </nav>
      )}
    </header>
  );
}
