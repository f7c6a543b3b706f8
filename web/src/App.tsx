// Routes. SPA paths never reuse an API prefix (/auth, /users, /rooms, /messages, /ws...),
// so nginx and the quick-start server can route by prefix and fall back to index.html.

import { lazy, Suspense } from 'react';
import { BrowserRouter, Navigate, Outlet, Route, Routes, useLocation } from 'react-router-dom';
import { AuthProvider, useAuth } from './auth/AuthProvider';
import { VerifyEmailPage } from './auth/EmailVerification';
import { Layout } from './components/Layout';
import { ServiceWorkerLinks } from './components/ServiceWorkerLinks';
import { AuthPage } from './pages/AuthPage';
import { ChatPage } from './pages/ChatPage';
import { HomePage } from './pages/HomePage';
import { MyRoomsPage } from './pages/MyRoomsPage';
import { ForgotPasswordPage, ResetPasswordPage } from './pages/PasswordPages';
import { ChatProvider } from './state/ChatProvider';

// Only staff open it: its code is loaded when they do.
const AdminPage = lazy(() => import('./pages/AdminPage'));

function Splash({ text }: { text: string }) {
  return (
    <div className="splash" role="status">
      <span className="brand-mark" aria-hidden="true">
        ☁
      </span>
      <p>{text}</p>
    </div>
  );
}

/** Protected routes: wait for the silent refresh, then either render or go to log in. */
function RequireAuth() {
  const { status } = useAuth();
  const location = useLocation();
  if (status === 'loading') return <Splash text="Signing you in…" />;
  if (status !== 'signedIn') {
    return <Navigate to="/login" replace state={{ from: location.pathname + location.search }} />;
  }
  return (
    <ChatProvider>
      <Outlet />
    </ChatProvider>
  );
}

export function App() {
  return (
    <AuthProvider>
      <BrowserRouter>
        <ServiceWorkerLinks />
        <Routes>
          <Route path="/login" element={<AuthPage />} />
          <Route path="/register" element={<Navigate to="/login?mode=register" replace />} />
          <Route path="/forgot-password" element={<ForgotPasswordPage />} />
          <Route path="/reset-password" element={<ResetPasswordPage />} />
          <Route path="/verify-email" element={<VerifyEmailPage />} />
          <Route element={<RequireAuth />}>
            <Route element={<Layout />}>
              <Route index element={<HomePage />} />
              <Route path="/my-rooms" element={<MyRoomsPage />} />
              <Route path="/chat/:roomId" element={<ChatPage />} />
              <Route
                path="/admin"
                element={
                  <Suspense fallback={<p className="page muted">Loading…</p>}>
                    <AdminPage />
                  </Suspense>
                }
              />
            </Route>
          </Route>
          <Route path="*" element={<Navigate to="/" replace />} />
        </Routes>
      </BrowserRouter>
    </AuthProvider>
  );
}
